"""Browser suite fixtures: one kb server on loopback over small documents and the bundled case studies, one Chromium.

The suite needs the Debian Chromium (/usr/bin/chromium) and the playwright Python package (`make browser-deps`);
without them every test here is skipped with the reason, so `make test` still passes on a bare dev machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import PASSWORD, REPO, write
from tests.test_catalogue import CURATED, ISLINGTON, KENT
from tests.test_site_profiles import NORTHUMBERLAND, SALFORD, SOMERSET

if TYPE_CHECKING:  # imported lazily below: without playwright the suite is skipped, not broken
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = REPO / "tests" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}

# A document with numbered sections, so the reader has an outline and passages under headings.
SUNDERLAND = """Sunderland Recovery at Home – Evaluation Summary

1 Background

Sunderland's recovery at home service brings community nurses, therapists and social care workers into one team that answers a single telephone number around the clock. It was set up in 2015 for adults at risk of going into hospital.

2 What was done

The team takes referrals from GPs, paramedics and families, visits within two hours and stays with the person for up to six weeks. Care home residents are included, with a named nurse for every home.

3 Results

In the first year the service saw 4,200 people. Emergency admissions of care home residents fell by 14% compared with the year before, and most people said they felt safer at home.
"""


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install with `apt-get install chromium`, or run `make browser-deps`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (`pip install playwright`, or run `make browser-deps`)"
    return None


MISSING = _missing_browser()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip only this folder's tests when the browser is not there (the hook sees the whole session's items)."""
    if not MISSING:
        return
    marker = pytest.mark.skip(reason=f"browser tests skipped: {MISSING}")
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(marker)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the kb server exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the kb server did not answer {base_url}/api/health within {timeout:.0f} s")


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log: Path
    users: dict[str, str] | None = (
        None  # role -> e-mail address of an account with that role (password PASSWORD)
    )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(env: dict[str, str], log: Path, *, timeout: float = 120) -> Server:
    """`uvicorn web.app:create_app` in a subprocess on a free loopback port, returned once /api/health answers."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory"]
            + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_healthy(server.base_url, process, timeout)
    except RuntimeError as err:
        server.stop()
        raise RuntimeError(f"{err}; server log:\n{server.log_tail()}") from err
    return server


def ingest_into(data_dir: Path, paths: list[Path], *, embedder: str = "hashing") -> None:
    """Ingest in this process (the server then builds its index at start-up from the stored passages)."""
    from kb.settings import Settings
    from web.flows import ingest_and_index, open_engine

    settings = Settings(data_dir=data_dir, embedder=embedder, load_default_corpus=False)
    engine = open_engine(settings)
    try:
        summary = ingest_and_index(paths, settings=settings, engine=engine, service=None, trigger="test")
    finally:
        engine.dispose()
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]


def make_accounts(data_dir: Path) -> dict[str, str]:
    """One account per role in the server's database, all with the password PASSWORD."""
    from sqlmodel import Session

    from kb import accounts
    from kb.settings import Settings
    from web.flows import open_engine

    engine = open_engine(Settings(data_dir=data_dir, embedder="hashing", load_default_corpus=False))
    users = {}
    try:
        with Session(engine) as session:
            for role, name in (
                ("member", "Maya Member"),
                ("curator", "Cara Curator"),
                ("admin", "Ada Admin"),
            ):
                email = f"{role}@example.nhs.uk"
                accounts.create_user(session=session, email=email, name=name, password=PASSWORD, role=role)
                users[role] = email
    finally:
        engine.dispose()
    return users


def sign_in(page: Page, server: Server, role: str) -> None:
    """Sign in through the site's own form as the server's account with this role."""
    assert server.users, "this server has no accounts"
    page.goto("/login")
    page.get_by_label("E-mail address").fill(server.users[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A kb server over KENT, ISLINGTON, CURATED, SUNDERLAND, three site profiles and corpus/cases (hashing
    embedder)."""
    root = tmp_path_factory.mktemp("browser")
    docs = root / "docs"
    write(docs / "kent.txt", KENT)
    write(docs / "islington.txt", ISLINGTON)
    write(docs / "kent-idt.md", CURATED)
    write(docs / "sunderland-recovery-at-home.txt", SUNDERLAND)
    for name, profile in (("northumberland", NORTHUMBERLAND), ("somerset", SOMERSET), ("salford", SALFORD)):
        write(docs / f"{name}-profile.txt", profile)  # site profiles: areas like mine
    data_dir = root / "data"
    ingest_into(data_dir, [docs, REPO / "corpus" / "cases"])
    users = make_accounts(data_dir)
    env = os.environ | {
        "KB_DATA_DIR": str(data_dir),
        "KB_EMBEDDER": "hashing",
        "KB_LOAD_DEFAULT_CORPUS": "false",
    }
    env.pop("KB_DATABASE_URL", None)
    server = start_server(env, root / "server.log")
    server.users = users
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, kb_server: Server) -> Iterator[Page]:
    """A fresh desktop-sized page whose relative URLs resolve against the server; closed after the test.
    Any server error met on the way fails the test with the end of the server's log, so a 500 is never
    mistaken for a missing element."""
    context = browser.new_context(base_url=kb_server.base_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    server_errors: list[str] = []
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    yield page
    context.close()
    if server_errors:
        pytest.fail(f"server errors: {server_errors}\n{kb_server.log_tail()}")


@pytest.fixture(scope="session")
def axe_script() -> Path:
    path = REPO / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():  # CI cannot get here: `make browser-deps` runs `npm ci` under `set -e`
        pytest.skip(f"{path} is missing: run `npm ci --no-audit --no-fund` (or `make browser-deps`)")
    return path


def add_axe(page: Page, axe_script: Path) -> None:
    """Load axe-core into the page through the DevTools protocol: the site's Content-Security-Policy allows
    no inline script, so a <script> tag with axe's source in it would be refused (as it should be)."""
    page.evaluate(axe_script.read_text())
    assert page.evaluate("typeof axe") == "object"


def serious_axe_violations(page: Page, axe_script: Path) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    import json

    add_axe(page, axe_script)
    result = json.loads(page.evaluate("async () => JSON.stringify(await axe.run(document))"))
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
