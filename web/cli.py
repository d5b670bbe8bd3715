"""The kb command: ingest, serve (the default), search, reindex, stats. Each command is one call into a flow."""

from __future__ import annotations

import logging
import shutil
import sys
import textwrap
from pathlib import Path

import click
from sqlmodel import Session

from kb import repo
from kb.errors import KbError
from kb.settings import get_settings
from web.flows import build_search_service, ingest_and_index, load_default_corpus_if_empty, open_engine


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """kb: a knowledge base of what worked in integrated care, with cited evidence."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[Path, ...], quiet: bool) -> None:
    """Ingest files or folders (recursively): .txt .md .html .pdf .docx."""
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
        [p for p in paths if p.exists()], settings=settings, engine=engine, service=service, on_file=progress
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
def serve(host: str, port: int) -> None:
    """Serve the site and the API (loads the default corpus on first start)."""
    import uvicorn

    from web.app import create_app

    click.echo(f"kb serving on http://{host}:{port}  (data in {get_settings().data_dir.resolve()})")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@main.command()
@click.argument("query")
@click.option("--limit", default=5, show_default=True, type=int)
def search(query: str, limit: int) -> None:
    """Search and print ranked passages with their citations."""
    settings = get_settings()
    engine = open_engine(settings)
    load_default_corpus_if_empty(settings, engine)
    service = build_search_service(settings, engine)
    try:
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


if __name__ == "__main__":
    main()
