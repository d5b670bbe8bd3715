"""Settings: one typed class read from KB_* environment variables, built once and injected."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Everything kb can be told from outside. Every field is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    model_path: Path | None = None
    embedder: str = "minilm"  # "minilm" (the bundled model) or "hashing" (fast, for tests only)
    embed_backend: str = "auto"  # "auto" (timed on this machine), "bf16", "fp32", "onnx" or "onnx-int8"
    corpus_dir: Path = REPO_ROOT / "corpus"
    load_default_corpus: bool = True
    max_file_mb: int = 50  # one uploaded file; refused as soon as its bytes pass this, while it streams in
    max_upload_mb: int = 200  # one upload request, all its files together
    max_upload_files: int = 50  # files in one upload
    uploads_per_hour: int = 30  # uploads one account may make in an hour
    max_passage_chars: int = 1200
    review_threshold: float = (
        0.6  # a found record judged a local intervention with less confidence waits for review
    )
    # accounts and the site's forms
    secret_key: str | None = None  # signs session cookies; made once and kept in the database when unset
    allow_registration: bool = (
        True  # anyone may make a member account; curators and admins are made by an admin
    )
    session_days: int = 14
    login_attempts: int = 5  # failed sign-ins per e-mail address (or 4x this per client) before a pause
    login_window_minutes: int = 15
    # background ingestion of uploads
    upload_worker: bool = True  # each server process ingests queued uploads
    upload_retention_days: int = 30  # days an ingested upload's bytes are kept (0: forever)
    # e-mail digests of saved searches (sent by `kb digest`); no host: digests are not sent
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "kb@localhost"
    smtp_starttls: bool = False
    base_url: str = "http://127.0.0.1:8000"  # for links in e-mails

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kb.sqlite3').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def adapted_dir(self) -> Path:
        """The model `kb adapt` fitted to this corpus, with its manifest (used only when adopted)."""
        return self.data_dir / "adapted"

    @property
    def encoder_dir(self) -> Path:
        """The ONNX export of the model and the record of which encoder backend this machine runs fastest."""
        return self.data_dir / "encoder"


@lru_cache
def get_settings() -> Settings:
    return Settings()
