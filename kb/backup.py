"""Backups of a whole instance and their restore: a consistent database snapshot, the search index files and
the encoder choice, in one folder with a manifest of hashes.

A backup folder holds `manifest.json` (written last: a folder without it is an unfinished backup), the
database (`database.sqlite3`, a copy made with SQLite's online backup API, or `database.pgdump`, a
`pg_dump` custom-format archive), the saved index folders (`index/vectors`, `index/lexical`) and the
data dir's `encoder/encoder-choice.json`. Uploaded files' bytes and the vector cache are tables
(UploadContent, EmbeddingCache), so they are in the database snapshot. The ONNX export in `encoder/` is
left out: it is remade from the bundled model.

Consistency while the server and an ingest run: SQLite's backup copies every page in one step, under one
read transaction, so it sees the database as one commit left it; on PostgreSQL the counts and the schema
revision are read in a REPEATABLE READ transaction whose snapshot pg_dump shares (`--snapshot`), so the
manifest describes exactly what was dumped. An ingest stores each document in one transaction, so no
snapshot holds half a document. The index folders are copied under the lock `search/vectors.swap_in` takes
to swap a new index in, so each copied folder is whole; it may be older or newer than the database
snapshot, which is harmless: an index is loaded only if its manifest matches the stored passages, and
rebuilt from the database (vectors from the cache, nothing re-encoded) otherwise.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, make_url, select, text
from sqlalchemy.engine import URL, Connection, Engine

from kb.errors import InvalidInput
from kb.settings import Settings
from kb.store.db import init_db, make_engine
from kb.store.models import Document, Intervention, Passage
from kb.transfer import schema_revision

FORMAT = "kb-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
INDEX_FOLDERS = ("vectors", "lexical")  # the folders search/ saves under the data dir's index/
ENCODER_FILES = ("encoder-choice.json",)  # cheap to keep; the ONNX export beside it is regenerable
PG_TOOLS = Path("/usr/bin")  # Debian's pg_wrapper; used when pg_dump is not on PATH


class BackupError(InvalidInput):
    """A backup cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    engine: str
    counts: dict[str, int]
    files: int
    bytes: int
    schema: str | None


# --- the manifest -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def kb_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kb")
    except PackageNotFoundError:
        return "unknown"


def count_content(connection: Connection) -> dict[str, int]:
    """Documents, passages and intervention records, drafts included."""
    return {
        name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in (
            ("documents", Document.__table__),  # type: ignore[attr-defined]
            ("passages", Passage.__table__),  # type: ignore[attr-defined]
            ("interventions", Intervention.__table__),  # type: ignore[attr-defined]
        )
    }


def read_manifest(folder: Path) -> dict:
    """The backup's manifest, checked for form; raises BackupError for a folder that is not a usable backup."""
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder; give the folder `kb backup` wrote.")
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{folder} has no {MANIFEST}: it is not a kb backup, or the backup did not finish. Nothing was restored."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise BackupError(f"{path} cannot be read as JSON ({err}). Nothing was restored.") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a kb backup manifest. Nothing was restored.")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"This backup is of format version {manifest.get('version')!r}; this kb reads version {VERSION}. "
            "Restore it with the kb version that made it."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("sha256"), str) for entry in files.values()
    ):
        raise BackupError(f"{path} has no valid list of files. Nothing was restored.")
    if manifest.get("engine") not in ("sqlite", "postgresql"):
        raise BackupError(f"{path} names an unknown database engine {manifest.get('engine')!r}.")
    return manifest


def verify_files(folder: Path, manifest: dict) -> None:
    """Raise BackupError unless every file the manifest lists is there, inside the folder, with its hash."""
    root = folder.resolve()
    for name, entry in sorted(manifest["files"].items()):
        path = (folder / name).resolve()
        if not path.is_relative_to(root) or name.startswith("/"):
            raise BackupError(
                f"The manifest names {name!r}, outside the backup folder. Nothing was restored."
            )
        if not path.is_file():
            raise BackupError(f"The backup is missing {name}. Nothing was restored.")
        if file_sha256(path) != entry["sha256"]:
            raise BackupError(
                f"{name} does not match the manifest's SHA-256: the backup is damaged or was changed. "
                "Nothing was restored."
            )
    database = SQLITE_FILE if manifest["engine"] == "sqlite" else POSTGRES_FILE
    if database not in manifest["files"]:
        raise BackupError(f"The manifest does not list the database ({database}). Nothing was restored.")


# --- making a backup ----------------------------------------------------------------------


def engine_name(settings: Settings) -> str:
    return "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgresql"


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            f"{target} already exists and is not empty; give a new or empty folder for the backup."
        )


def make_backup(*, settings: Settings, target: Path) -> BackupReport:
    """Write a consistent snapshot of the instance (see the module's docstring) into `target`, a new or empty
    folder. Safe while the server and ingests run. Raises BackupError (nothing is left behind) when the target
    is not empty, there is no database, or the PostgreSQL tools cannot dump this server."""
    check_target(target)
    engine = engine_name(settings)
    made_folder = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        if engine == "sqlite":
            details = _backup_sqlite(sqlite_path(settings), target / SQLITE_FILE)
        else:
            details = _backup_postgres(settings.resolved_database_url, target / POSTGRES_FILE)
        for name in INDEX_FOLDERS:
            _copy_index_folder(settings.index_dir / name, target / "index" / name)
        for name in ENCODER_FILES:
            if (settings.encoder_dir / name).is_file():
                (target / "encoder").mkdir(exist_ok=True)
                shutil.copy2(settings.encoder_dir / name, target / "encoder" / name)
        files = {
            path.relative_to(target).as_posix(): {"sha256": file_sha256(path), "bytes": path.stat().st_size}
            for path in sorted(target.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "kb_version": kb_version(),
            "created_at": datetime.now(UTC).isoformat(),
            "engine": engine,
            **details,
            "files": files,
        }
        staging = target / f".{MANIFEST}.tmp"
        staging.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(staging, target / MANIFEST)  # why last and by rename: a folder with a manifest is complete
    except BaseException:
        if made_folder:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return BackupReport(
        path=target,
        engine=engine,
        counts=details["counts"],
        files=len(files),
        bytes=sum(entry["bytes"] for entry in files.values()),
        schema=details["schema"],
    )


def _backup_sqlite(source_path: Path, copy_path: Path) -> dict:
    if not source_path.is_file():
        raise BackupError(f"There is no database at {source_path}: nothing to back up.")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(copy_path)
    try:
        source.backup(copy)  # all pages in one step: one read transaction, one consistent state
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = copy.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            raise BackupError(f"The copied database fails SQLite's integrity check: {check[:3]}")
    finally:
        copy.close()
        source.close()
    copy_engine = create_engine(f"sqlite:///{copy_path}")
    try:
        with copy_engine.connect() as connection:
            return {
                "schema": schema_revision(connection),
                "counts": count_content(connection),
                "sqlite_version": sqlite3.sqlite_version,
            }
    finally:
        copy_engine.dispose()


def pg_tool(name: str) -> str:
    found = shutil.which(name) or (str(PG_TOOLS / name) if (PG_TOOLS / name).is_file() else None)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools (apt-get install postgresql-client)."
        )
    return found


def tool_major_version(tool: str) -> int:
    """The major version of pg_dump or pg_restore ("pg_dump (PostgreSQL) 15.18 (Debian ...)" -> 15)."""
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"\)\s*(\d+)", output)
    if match is None:
        raise BackupError(f"Cannot tell the version of {tool} from {output.strip()!r}.")
    return int(match.group(1))


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL for the PostgreSQL tools, and the environment carrying the password (never
    on the command line, where other users could read it)."""
    parsed = make_url(url)
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return plain.render_as_string(hide_password=False), environment


def _run_pg_tool(arguments: list[str], environment: dict[str, str], what: str) -> None:
    result = subprocess.run(arguments, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        detail = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _backup_postgres(url: str, archive: Path) -> dict:
    pg_dump = pg_tool("pg_dump")
    dump_major = tool_major_version(pg_dump)
    engine = create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            with connection.begin():
                # why: the counts and pg_dump read the same snapshot, so the manifest describes the dump
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                server_version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
                if server_version // 10000 > dump_major:
                    raise BackupError(
                        f"The PostgreSQL server is version {server_version // 10000} but {pg_dump} is version "
                        f"{dump_major}: pg_dump must be at least the server's version. Install "
                        f"postgresql-client-{server_version // 10000}."
                    )
                details = {
                    "schema": schema_revision(connection),
                    "counts": count_content(connection),
                    "postgresql_server": server_version,
                    "pg_dump_major": dump_major,
                }
                target, environment = libpq_target(url)
                _run_pg_tool(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={archive}",
                        f"--dbname={target}",
                    ],
                    environment,
                    "pg_dump",
                )
    finally:
        engine.dispose()
    return details


@contextmanager
def _index_lock(folder: Path) -> Iterator[None]:
    """The lock search/vectors.swap_in holds while it swaps `folder`: held, the folder is not replaced."""
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _copy_index_folder(folder: Path, copy: Path) -> None:
    if not folder.parent.is_dir():
        return
    with _index_lock(folder):
        if folder.is_dir():
            shutil.copytree(folder, copy)


# --- restoring ------------------------------------------------------------------------------


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from kb.store.db import MIGRATIONS

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def what_is_in_the_way(settings: Settings, engine: Engine) -> list[str]:
    """What the configured instance already holds (empty when a restore may go ahead)."""
    found = []
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        found.append(
            f"the database {engine.url.render_as_string(hide_password=True)} has {len(tables)} tables"
        )
    for name in INDEX_FOLDERS:
        if (settings.index_dir / name).exists():
            found.append(f"{settings.index_dir / name} exists")
    return found


def restore_backup(*, settings: Settings, source: Path) -> dict[str, int]:
    """Rebuild an instance from the backup in `source` into the configured data dir and database, which must
    be empty; migrate it up if the backup is of an older schema. Returns the restored counts.

    Raises BackupError, having changed nothing, for a folder that is not a complete backup, a file whose
    hash does not match, a backup of the other engine or of a newer schema, or a target that is not empty.
    The caller then brings the search index up to date (the restored index files are used when they match)."""
    manifest = read_manifest(source)
    engine_kind = engine_name(settings)
    if manifest["engine"] != engine_kind:
        raise BackupError(
            f"This is a backup of a {manifest['engine']} database and kb is configured for {engine_kind}. "
            "Restore it on the same engine, then move the content across with `kb export` and `kb import`."
        )
    if manifest.get("schema") not in known_revisions():
        raise BackupError(
            f"This backup's database schema ({manifest.get('schema')!r}) is unknown to this kb, which is "
            "older than the kb that made it. Restore it with that kb version or a newer one."
        )
    verify_files(source, manifest)
    if engine_kind == "sqlite":
        database = sqlite_path(settings)
        _refuse_unless_empty(settings, database=database)
        database.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkstemp(prefix=".restore-", suffix=".sqlite3", dir=database.parent)[1])
        shutil.copyfile(source / SQLITE_FILE, staging)
        for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)  # an empty database file, with no tables in it
        os.replace(staging, database)
        engine = make_engine(settings)
    else:
        engine = make_engine(settings)
        _refuse_unless_empty(settings, engine=engine)
        _restore_postgres(settings.resolved_database_url, source / POSTGRES_FILE, manifest)
    try:
        init_db(engine)  # why: a backup of an older schema is migrated up to this kb's
        with engine.connect() as connection:
            counts = count_content(connection)
    finally:
        engine.dispose()
    if counts != manifest.get("counts"):
        raise BackupError(
            f"The restored database holds {counts}, the manifest says {manifest.get('counts')}."
        )
    for name in INDEX_FOLDERS:
        if (source / "index" / name).is_dir():
            settings.index_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source / "index" / name, settings.index_dir / name)
    for name in ENCODER_FILES:
        # why only when missing: a choice already made for this machine's own timings stays
        if (source / "encoder" / name).is_file() and not (settings.encoder_dir / name).exists():
            settings.encoder_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "encoder" / name, settings.encoder_dir / name)
    return counts


def _refuse_unless_empty(
    settings: Settings, *, database: Path | None = None, engine: Engine | None = None
) -> None:
    found = []
    if database is not None and database.exists():
        try:
            with closing(sqlite3.connect(database)) as connection:
                tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        except sqlite3.DatabaseError:
            tables = [("?",)]
        if tables:
            found.append(f"the database {database} is not empty")
    if engine is not None:
        try:
            found += what_is_in_the_way(settings, engine)
        finally:
            engine.dispose()
    found += [f"{settings.index_dir / n} exists" for n in INDEX_FOLDERS if (settings.index_dir / n).exists()]
    if found:
        raise BackupError(
            "A backup is restored only into an empty instance, and "
            + "; ".join(dict.fromkeys(found))
            + ". Point KB_DATA_DIR (and KB_DATABASE_URL) at a new data dir and an empty database. "
            "Nothing was restored."
        )


def _restore_postgres(url: str, archive: Path, manifest: dict) -> None:
    pg_restore = pg_tool("pg_restore")
    restore_major = tool_major_version(pg_restore)
    made_with = manifest.get("pg_dump_major")
    if isinstance(made_with, int) and made_with > restore_major:
        raise BackupError(
            f"This backup was dumped by pg_dump {made_with}; {pg_restore} is version {restore_major} and cannot "
            f"read it. Install postgresql-client-{made_with}."
        )
    target, environment = libpq_target(url)
    _run_pg_tool(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target}",
            str(archive),
        ],
        environment,
        "pg_restore",
    )
