"""Storage: the tables (`models`), the engine and sessions (`db`), the storage functions (`repo`) and the
schema's Alembic migrations (`migrations/`). The rest of kb/ (accounts, curation, uploads, …) and every other
package reach the database through these."""
