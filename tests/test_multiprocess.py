"""Several server processes on one database, each with its own data dir (as on several machines): a change
made by another process is searchable through every one of them, with no restart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import make_settings, write
from tests.test_catalogue import KENT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> dict:
    import json

    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def wait_until_up(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            get_json(f"{base}/api/health")
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{base} did not answer within {seconds} s")


@pytest.fixture
def two_servers(tmp_path: Path):
    settings = make_settings(tmp_path)
    env_common = os.environ | {
        "KB_DATABASE_URL": settings.resolved_database_url,
        "KB_EMBEDDER": "hashing",
        "KB_LOAD_DEFAULT_CORPUS": "false",
    }
    processes, bases = [], []
    for name in ("a", "b"):
        port = free_port()
        env = env_common | {"KB_DATA_DIR": str(tmp_path / f"data-{name}")}
        process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        processes.append(process)
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base, process in zip(bases, processes, strict=True):
            wait_until_up(base, process)
        yield bases, env_common | {"KB_DATA_DIR": str(tmp_path / "data-cli")}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_an_ingest_by_another_process_is_searchable_through_every_server(two_servers, tmp_path: Path):
    bases, cli_env = two_servers
    for base in bases:
        assert get_json(f"{base}/api/stats")["passages"] == 0
    document = write(tmp_path / "docs" / "kent.txt", KENT)
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "ingest", "--quiet", str(document)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for base in bases:
        hits = get_json(f"{base}/api/search?q=integrated+discharge+team&limit=3")["results"]
        assert hits and hits[0]["source"] == "kent.txt", base
        catalogue = get_json(f"{base}/api/interventions")
        assert catalogue["total"] >= 1, (base, catalogue, get_json(f"{base}/api/stats"))


def test_an_upload_and_publish_through_one_server_is_searchable_through_the_other(
    two_servers, tmp_path: Path
):
    """The whole curation path across processes: upload to A, A's worker ingests it as a draft (neither server
    shows it), publish through A, and B finds it within a few seconds, with no restart."""
    import httpx

    from tests.conftest import PASSWORD

    bases, cli_env = two_servers
    made = subprocess.run(
        [sys.executable, "-m", "web.cli", "users", "create", "--curator", "--email", "c@example.nhs.uk"]
        + ["--name", "Cara", "--password-stdin"],
        env=cli_env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with httpx.Client(base_url=bases[0], timeout=30) as a:
        a.get("/login")
        token = a.cookies["kb_csrf"]
        signed_in = a.post(
            "/login", data={"email": "c@example.nhs.uk", "password": PASSWORD, "csrf_token": token}
        )
        assert signed_in.status_code == 303, signed_in.text
        uploaded = a.post(
            "/curate/uploads",
            data={"csrf_token": token},
            files={"files": ("kent.txt", KENT.encode(), "text/plain")},
        )
        assert uploaded.status_code == 303, uploaded.text
        upload_id = uploaded.headers["location"].rsplit("/", 1)[-1]
        deadline = time.monotonic() + 60
        while True:
            status = a.get(f"/api/uploads/{upload_id}").json()
            if status["done"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        [file] = status["files"]
        assert file["status"] == "indexed", file
        for base in bases:  # a draft: no reader sees it yet
            assert get_json(f"{base}/api/search?q=integrated+discharge+team")["results"] == []
        published = a.post(
            f"/curate/documents/{file['document_id']}/publish",
            data={"csrf_token": token, "interventions": "all"},
        )
        assert published.status_code == 303, published.text
    for base in bases:  # the publishing server and the other both find it (each applies the change log)
        started = time.monotonic()
        while True:
            hits = get_json(f"{base}/api/search?q=integrated+discharge+team&limit=3")["results"]
            if hits or time.monotonic() - started > 10:
                break
            time.sleep(0.2)
        assert hits and hits[0]["source"] == "kent.txt", base
        assert get_json(f"{base}/api/interventions")["total"] >= 1


def test_kb_serve_with_several_workers_answers_from_each(tmp_path: Path):
    """`kb serve --workers 2`: uvicorn's workers each build the app from the environment and share the port."""
    settings = make_settings(tmp_path)
    document = write(tmp_path / "docs" / "kent.txt", KENT)
    env = os.environ | {
        "KB_DATABASE_URL": settings.resolved_database_url,
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_EMBEDDER": "hashing",
        "KB_LOAD_DEFAULT_CORPUS": "false",
    }
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "web.cli", "ingest", "--quiet", str(document)], env=env, check=True, cwd=root
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=root,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        for _ in range(20):  # new connections each time, spread over both workers
            hits = get_json(f"{base}/api/search?q=integrated+discharge+team&limit=3")["results"]
            assert hits and hits[0]["source"] == "kent.txt"
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "with 2 processes" in output
