"""The kb command: ingest, serve (the default), search, reindex, adapt, stats. Each command is one call into a flow."""

from __future__ import annotations

import logging
import shutil
import sys
import textwrap
from pathlib import Path

import click
from sqlmodel import Session

from kb.errors import KbError
from kb.settings import get_settings
from kb.store import repo
from search.explain import explanation_text
from web.flows import build_search_service, ingest_and_index, load_default_corpus_if_empty, open_engine


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """kb: a knowledge base of what worked in integrated care, with cited evidence."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kb.security").setLevel(logging.INFO)  # sign-ins, lock-outs, role changes (web/audit.py)
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--draft",
    is_flag=True,
    help="Hold the documents and their interventions for review: readers see them once a curator publishes.",
)
def ingest(paths: tuple[Path, ...], quiet: bool, draft: bool) -> None:
    """Ingest files or folders (recursively): .txt .md .html .pdf .docx. Published at once unless --draft."""
    from tqdm import tqdm

    from ingest.pipeline import collect_files

    settings = get_settings()
    engine = open_engine(settings)
    load_default_corpus_if_empty(settings, engine)
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        click.echo(f"skipped {path}: no such file or folder", err=True)
    total = len(list(collect_files([p for p in paths if p.exists()])))
    bar = tqdm(total=total, unit="file", disable=quiet or total < 2, file=sys.stderr)

    def progress(result) -> None:  # noqa: ANN001
        bar.update(1)
        if result.status == "failed":
            tqdm.write(f"failed   {result.path}: {result.reason}", file=sys.stderr)

    service = build_search_service(settings, engine)
    summary = ingest_and_index(
        [p for p in paths if p.exists()],
        settings=settings,
        engine=engine,
        service=service,
        on_file=progress,
        status="draft" if draft else "published",
    )
    bar.close()
    click.echo(
        f"{len(summary.files)} files: {summary.indexed} indexed, {summary.unchanged} unchanged, "
        f"{len(summary.failed)} failed; {summary.passages} passages; {summary.seconds:.1f} s (run {summary.run_id})"
    )
    for failure in summary.failed:
        click.echo(f"  failed: {failure.path}: {failure.reason}")
    if missing or summary.failed:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port; each holds the model and the indexes (about 0.7 GB with the seeds).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the site and the API (loads the default corpus on first start)."""
    import uvicorn

    from web.app import create_app

    settings = get_settings()
    click.echo(
        f"kb serving on http://{host}:{port} with {workers} process{'es' if workers > 1 else ''}"
        f"  (data in {settings.data_dir.resolve()})"
    )
    if workers == 1:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
        return
    # why: load the default corpus once here, so the workers do not race to ingest it
    load_default_corpus_if_empty(settings, open_engine(settings))
    uvicorn.run(
        "web.app:create_app", factory=True, workers=workers, host=host, port=port, log_level="warning"
    )


@main.command()
@click.argument("query")
@click.option("--limit", default=5, show_default=True, type=int)
@click.option(
    "--explain",
    is_flag=True,
    help="For each result, show its lexical and dense scores, the expansions it matched and its boosts.",
)
def search(query: str, limit: int, explain: bool) -> None:
    """Search and print ranked passages with their citations."""
    settings = get_settings()
    engine = open_engine(settings)
    load_default_corpus_if_empty(settings, engine)
    service = build_search_service(settings, engine)
    try:
        if explain:
            click.echo(explanation_text(service.explain(query, limit=limit)))
            return
        response = service.search(query, limit=limit)
    except KbError as err:
        raise click.UsageError(err.message) from err
    if not response.results:
        click.echo("No passages match.")
    for rank, hit in enumerate(response.results, start=1):
        click.secho(f"{rank}. {hit.document.title}", bold=True)
        if hit.heading:
            click.echo(f"   {hit.heading}")
        click.echo(textwrap.indent(textwrap.fill(hit.text[:600], 100), "   "))
        click.echo(f"   [{hit.source}, chars {hit.char_start}-{hit.char_end}, score {hit.score:.3f}]\n")


@main.command()
def reindex() -> None:
    """Rebuild the vector and lexical indexes from the stored passages (cached vectors are reused)."""
    settings = get_settings()
    engine = open_engine(settings)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    report = build_search_service(settings, engine).refresh()
    click.echo(
        f"indexed {report.passages} passages ({report.encoded} newly encoded) in {report.seconds:.1f} s"
    )


@main.command()
@click.option(
    "--steps", default=300, show_default=True, type=click.IntRange(1, 100_000), help="Training steps."
)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(4, 512))
@click.option("--seed", default=13, show_default=True, type=int, help="Chooses the held-out documents too.")
@click.option("--undo", is_flag=True, help="Go back to the bundled model (keeps the adapted one on disk).")
@click.option(
    "--adopt", "force_adopt", is_flag=True, help="Adopt the adapted model kept on disk, whatever it measured."
)
def adapt(steps: int, batch_size: int, seed: int, undo: bool, force_adopt: bool) -> None:
    """Fit the bundled MiniLM to the ingested documents (optional; minutes on a CPU). The result is adopted
    only if it ranks held-out documents' passages better than the bundled model; then every passage is
    encoded again with it."""
    from search.adapt import adapt as fit
    from search.adapt import set_adopted

    settings = get_settings()
    if settings.embedder != "minilm":
        raise click.ClickException(f"kb adapt fits the MiniLM model; KB_EMBEDDER is {settings.embedder!r}")
    if undo or force_adopt:
        try:
            manifest = set_adopted(settings.adapted_dir, force_adopt)
        except ValueError as err:
            raise click.ClickException(str(err)) from err
        click.echo(manifest["reason"])
    else:
        engine = open_engine(settings)
        with Session(engine) as session:
            rows = repo.index_rows(session=session)
        bar = click.progressbar(length=steps, label="adapting", file=sys.stderr)
        with bar:
            try:
                report = fit(
                    rows,
                    settings.adapted_dir,
                    base_path=settings.model_path,
                    steps=steps,
                    batch_size=batch_size,
                    seed=seed,
                    on_step=lambda step, loss: bar.update(1),
                )
            except ValueError as err:
                raise click.ClickException(str(err)) from err
        click.echo(
            f"{report.train_pairs} training pairs; held out {report.heldout_documents} documents "
            f"({report.heldout_pairs} pairs); {report.seconds:.0f} s"
        )
        click.echo(report.reason)
    report_index = build_search_service(settings, open_engine(settings)).refresh()
    click.echo(f"indexed {report_index.passages} passages ({report_index.encoded} newly encoded)")


@main.command()
def stats() -> None:
    """Counts of documents, passages and ingestion runs."""
    settings = get_settings()
    engine = open_engine(settings)
    with Session(engine) as session:
        click.echo(f"documents: {repo.count_documents(session=session)}")
        click.echo(f"passages:  {repo.count_passages(session=session)}")
        runs = repo.list_runs(session=session, limit=5)
        for run in runs:
            click.echo(
                f"run {run.id} ({run.trigger}, {run.started_at:%Y-%m-%d %H:%M}): {run.files_indexed} indexed, "
                f"{run.files_unchanged} unchanged, {run.files_failed} failed, {run.passages_added} passages"
            )
    click.echo(f"database:  {settings.resolved_database_url}")


# --- accounts ------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Make and manage accounts (the first admin is made here: kb has no default password)."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organisation", default="")
@click.option("--admin", "role", flag_value="admin", help="An admin: manages users and roles, and curates.")
@click.option("--curator", "role", flag_value="curator", help="A curator: uploads, reviews and publishes.")
@click.option("--member", "role", flag_value="member", default=True, help="A member (the default).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
def users_create(email: str, name: str, organisation: str, role: str, password_stdin: bool) -> None:
    """Make an account; asks for its password."""
    from kb import accounts

    settings = get_settings()
    engine = open_engine(settings)
    password = _read_password(password_stdin)
    with Session(engine) as session:
        try:
            user = accounts.create_user(
                session=session,
                email=email,
                name=name,
                password=password,
                role=role,
                organisation=organisation,
            )
        except KbError as err:
            raise click.ClickException(err.message) from err
    click.echo(f"made {user.role} {user.email} (user {user.id})")


@users.command("list")
def users_list() -> None:
    """Every account with its role."""
    from kb import accounts

    with Session(open_engine(get_settings())) as session:
        for user in accounts.list_users(session=session):
            state = " (disabled)" if user.disabled else ""
            click.echo(f"{user.id:>5}  {user.role:<8} {user.email}  {user.name}{state}")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["member", "curator", "admin"]))
def users_set_role(email: str, role: str) -> None:
    """Give an account another role."""
    from kb import accounts

    with Session(open_engine(get_settings())) as session:
        user = accounts.get_user_by_email(session=session, email=email)
        if user is None:
            raise click.ClickException(f"no account for {email}")
        try:
            accounts.set_role(session=session, user_id=user.id, role=role)  # type: ignore[arg-type]
        except KbError as err:
            raise click.ClickException(err.message) from err
    click.echo(f"{email} is now a {role}")


@users.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set an account's password (and sign it out everywhere)."""
    from kb import accounts

    with Session(open_engine(get_settings())) as session:
        user = accounts.get_user_by_email(session=session, email=email)
        if user is None:
            raise click.ClickException(f"no account for {email}")
        try:
            accounts.set_password(session=session, user_id=user.id, password=_read_password(password_stdin))  # type: ignore[arg-type]
        except KbError as err:
            raise click.ClickException(err.message) from err
    click.echo(f"password set for {email}")


# --- digests, export and import -------------------------------------------------------------


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the digests instead of sending them.")
def digest(dry_run: bool) -> None:
    """E-mail each member what is new for their saved searches (through KB_SMTP_HOST)."""
    from web.digest import send_digests

    settings = get_settings()
    engine = open_engine(settings)
    try:
        report = send_digests(settings=settings, engine=engine, dry_run=dry_run)
    except KbError as err:
        raise click.ClickException(err.message) from err
    click.echo(str(report))


@main.command("export")
@click.argument("path", type=click.Path(path_type=Path))
def export_command(path: Path) -> None:
    """Write the whole knowledge base to a JSON file (users without their password hashes)."""
    from kb.transfer import export_all, write_export

    engine = open_engine(get_settings())
    data = export_all(engine=engine)
    try:
        write_export(data, path)
    except OSError as err:
        raise click.ClickException(f"could not write {path}: {err.strerror or err}") from err
    click.echo(
        f"exported {', '.join(f'{len(rows)} {name}' for name, rows in data['tables'].items())} to {path}"
    )


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Load a JSON export into an empty knowledge base."""
    from kb.transfer import import_all, read_export

    settings = get_settings()
    engine = open_engine(settings)
    try:
        counts = import_all(engine=engine, data=read_export(path))
    except KbError as err:
        raise click.ClickException(err.message) from err
    build_search_service(settings, engine).refresh()
    click.echo(f"imported {', '.join(f'{n} {name}' for name, n in counts.items())}")


# --- backups and upload retention -------------------------------------------------------------


@main.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent backup of this instance into PATH, a new or empty folder (safe while kb runs)."""
    from kb.backup import make_backup

    try:
        report = make_backup(settings=get_settings(), target=path)
    except KbError as err:
        raise click.ClickException(err.message) from err
    except OSError as err:
        raise click.ClickException(f"could not write the backup to {path}: {err.strerror or err}") from err
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
    click.echo(
        f"backed up {counts} ({report.engine}, schema {report.schema}) to {path}: "
        f"{report.files} files, {report.bytes / 1e6:.1f} MB"
    )


@main.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
def restore_command(path: Path) -> None:
    """Rebuild this instance from the backup in PATH; the data dir and database must be empty."""
    from kb.backup import restore_backup

    settings = get_settings()
    try:
        counts = restore_backup(settings=settings, source=path)
    except KbError as err:
        raise click.ClickException(err.message) from err
    except OSError as err:
        raise click.ClickException(f"could not restore from {path}: {err.strerror or err}") from err
    report = build_search_service(settings, open_engine(settings)).refresh()
    click.echo(
        f"restored {', '.join(f'{n} {name}' for name, n in counts.items())}; search index "
        f"{report.vectors} (vectors), {report.lexical} (lexical) over {report.passages} passages"
    )


@main.command("prune-uploads")
def prune_uploads_command() -> None:
    """Delete the bytes of uploads ingested more than KB_UPLOAD_RETENTION_DAYS ago (their records stay)."""
    from kb.uploads import prune_upload_bytes

    settings = get_settings()
    with Session(open_engine(settings)) as session:
        pruned = prune_upload_bytes(session=session, retention_days=settings.upload_retention_days)
    click.echo(
        f"deleted the bytes of {pruned} uploaded files (retention {settings.upload_retention_days} days)"
    )


if __name__ == "__main__":
    main()
