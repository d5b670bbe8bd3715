"""Bounded request bodies: an oversize upload is refused while it streams in, after at most its limit and one
chunk were read; the files-per-upload and uploads-per-hour caps; a plain 413 page on the site, JSON under /api.

The streaming tests call the real ASGI app (create_app, its lifespan started) with a receive() that hands the
body out chunk by chunk and counts every byte it hands out, so "stopped reading" is measured, not assumed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser

from tests.conftest import client_as, csrf_token, make_settings
from tests.test_uploads import stored_counts, upload
from web.body_limits import MAX_FORM_BYTES, MB

CHUNK = 64 * 1024
BOUNDARY = "kb-test-boundary-7d1f"


@dataclass
class Exchange:
    """What the app read and answered in one raw ASGI call."""

    handed_out: int = 0  # body bytes receive() gave the app
    receive_calls: int = 0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode()


def call_app(app, method: str, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> Exchange:  # noqa: ANN001
    """One request through the ASGI app, its body handed out one chunk per receive()."""
    exchange = Exchange()
    pending = iter(chunks)
    upcoming = next(pending, None)

    async def receive() -> dict:
        nonlocal upcoming
        exchange.receive_calls += 1
        if upcoming is None:
            await asyncio.sleep(3600)  # a client that sent everything waits for the answer
        chunk, upcoming = upcoming, next(pending, None)
        exchange.handed_out += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": upcoming is not None}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    # why a thread of its own: a browser test earlier in the session leaves Playwright's event loop running in
    # this thread, and asyncio.run refuses to start a second one beside it
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
        except BaseException as err:  # noqa: BLE001  (re-raised in the test's own thread below)
            failure.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return exchange


def signed_in_headers(browser: TestClient, content_type: str) -> dict[str, str]:
    token = csrf_token(browser)
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return {"host": "testserver", "cookie": cookies, "content-type": content_type, "x-csrf-token": token}


def multipart(files: list[tuple[str, int]], *, token: str) -> tuple[bytes, Iterator[bytes]]:
    """A multipart upload of files of these sizes, made lazily in CHUNK-sized pieces (never held whole).
    Returns the bytes before the first file's data (its headers) and the chunks."""
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()

    def part_header(name: str) -> bytes:
        return (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()

    def pieces() -> Iterator[bytes]:
        for index, (name, size) in enumerate(files):
            yield (head if index == 0 else b"") + part_header(name)
            sent = 0
            while sent < size:
                step = min(CHUNK, size - sent)
                yield b"%" * step
                sent += step
            yield b"\r\n"
        yield f"--{BOUNDARY}--\r\n".encode()

    return head + part_header(files[0][0]), pieces()


@pytest.fixture
def small_limits(tmp_path):
    """A running app whose uploads may be 1 MB a file, 3 MB a request, 3 files, 2 an hour."""
    from web.app import create_app

    settings = make_settings(
        tmp_path, max_file_mb=1, max_upload_mb=3, max_upload_files=3, uploads_per_hour=2, upload_worker=False
    )
    with TestClient(create_app(settings)) as client:
        yield client


# --- refused while streaming -----------------------------------------------------------------------------


def test_an_upload_ten_times_the_file_limit_stops_being_read_at_the_limit(small_limits: TestClient):
    curator = client_as(small_limits, "curator")
    limit = 1 * MB
    headers = signed_in_headers(curator, f"multipart/form-data; boundary={BOUNDARY}")
    before_data, chunks = multipart([("annual report.pdf", 10 * limit)], token=headers["x-csrf-token"])

    exchange = call_app(small_limits.app, "POST", "/curate/uploads", chunks, headers)

    assert exchange.status == 413
    # Reading stopped at the file's limit: its headers, the limit itself, and the one chunk that passed it.
    assert exchange.handed_out <= len(before_data) + limit + CHUNK, exchange.handed_out
    assert exchange.handed_out < 2 * limit  # of the 10 MB sent
    page = LexborHTMLParser(exchange.text)
    assert page.css_first("h1").text() == "Too large to accept"
    assert (
        "Nothing was uploaded: annual report.pdf is larger than the 1 MB limit for one file."
        in page.css_first("main").text()
    )
    assert exchange.headers["connection"] == "close"  # the unread rest cannot be taken for a next request
    assert "Sign out" in exchange.text  # the refusal is a page of the site, for the signed-in curator
    assert stored_counts(small_limits.app) == (0, 0, 0)


def test_files_under_their_limit_stop_being_read_at_the_whole_upload_limit(tmp_path):
    from web.app import create_app

    settings = make_settings(tmp_path, max_file_mb=1, max_upload_mb=2, upload_worker=False)
    with TestClient(create_app(settings)) as client:
        curator = client_as(client, "curator")
        headers = signed_in_headers(curator, f"multipart/form-data; boundary={BOUNDARY}")
        # five files of 0.9 MB: each is allowed, together 4.5 MB, past the 2 MB an upload may be
        _, chunks = multipart(
            [(f"part {i}.pdf", 900 * 1024) for i in range(5)], token=headers["x-csrf-token"]
        )
        exchange = call_app(client.app, "POST", "/curate/uploads", chunks, headers)
        assert exchange.status == 413
        assert exchange.handed_out <= 2 * MB + CHUNK, exchange.handed_out
        assert "the upload is larger than the 2 MB one upload may be" in exchange.text
        assert stored_counts(client.app) == (0, 0, 0)


def test_a_declared_length_past_the_limit_is_refused_before_a_byte_is_read(small_limits: TestClient):
    curator = client_as(small_limits, "curator")
    headers = signed_in_headers(curator, f"multipart/form-data; boundary={BOUNDARY}")
    headers["content-length"] = str(30 * MB)
    _, chunks = multipart([("huge.pdf", 30 * MB)], token=headers["x-csrf-token"])
    exchange = call_app(small_limits.app, "POST", "/curate/uploads", chunks, headers)
    assert exchange.status == 413 and exchange.handed_out == 0 and exchange.receive_calls == 0
    assert "larger than the 3 MB one upload may be" in exchange.text


def test_any_other_form_stops_being_read_at_the_form_limit(small_limits: TestClient):
    def endless_form() -> Iterator[bytes]:
        yield b"email=someone%40example.nhs.uk&password=x"
        for _ in range(
            10 * MAX_FORM_BYTES // CHUNK
        ):  # many fields, each under Starlette's 1 MB for one field
            yield b"&note=" + b"a" * (CHUNK - 6)

    headers = {"host": "testserver", "content-type": "application/x-www-form-urlencoded"}
    exchange = call_app(small_limits.app, "POST", "/login", endless_form(), headers)
    assert exchange.status == 413
    assert exchange.handed_out <= MAX_FORM_BYTES + CHUNK
    assert "larger than the 2 MB the site accepts for a form" in exchange.text


def test_the_api_refuses_an_oversize_body_in_its_json_error_shape(small_limits: TestClient):
    response = small_limits.post(
        "/api/search",
        content=b"x" * (MAX_FORM_BYTES + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "This request is larger than the 2 MB the site accepts for a form.",
        "status": 413,
    }


def test_the_new_statuses_have_documented_meanings():
    from web.errors import ErrorBody, error_responses

    documented = error_responses(413, 429)
    assert (
        documented[413]["model"] is ErrorBody
        and "larger than the site accepts" in documented[413]["description"]
    )
    assert "Too many" in documented[429]["description"]


# --- how many files, how many uploads ------------------------------------------------------------------------


def test_more_files_than_the_cap_are_refused_and_the_cap_itself_is_accepted(small_limits: TestClient):
    curator = client_as(small_limits, "curator")
    four = [(f"note {i}.txt", f"Note number {i}.".encode()) for i in range(4)]
    response = upload(curator, four)
    assert response.status_code == 413
    assert "Nothing was uploaded: upload at most 3 files at a time." in response.text
    assert stored_counts(small_limits.app) == (0, 0, 0)

    response = upload(curator, four[:3])
    assert response.status_code == 303
    assert stored_counts(small_limits.app) == (1, 3, 3)


def test_the_file_cap_stops_reading_before_the_file_past_it(tmp_path):
    from web.app import create_app

    settings = make_settings(
        tmp_path, max_file_mb=1, max_upload_mb=50, max_upload_files=2, upload_worker=False
    )
    with TestClient(create_app(settings)) as client:
        curator = client_as(client, "curator")
        headers = signed_in_headers(curator, f"multipart/form-data; boundary={BOUNDARY}")
        _, chunks = multipart(
            [(f"part {i}.pdf", 512 * 1024) for i in range(40)], token=headers["x-csrf-token"]
        )
        exchange = call_app(client.app, "POST", "/curate/uploads", chunks, headers)
        assert exchange.status == 413 and "upload at most 2 files at a time" in exchange.text
        # two files were read, and the third's headers: not the 20 MB sent
        assert exchange.handed_out <= 2 * 512 * 1024 + 2 * CHUNK, exchange.handed_out


def test_uploads_past_the_hourly_cap_are_refused_before_the_body_is_read(small_limits: TestClient):
    curator = client_as(small_limits, "curator")
    for i in range(2):
        assert upload(curator, [(f"note {i}.txt", b"Some notes.")]).status_code == 303

    response = upload(curator, [("note 3.txt", b"Some notes.")])
    assert response.status_code == 429
    text = LexborHTMLParser(response.text).css_first("main").text()
    assert "an account may make 2 uploads an hour, and you have made 2 in the last hour" in text
    assert "Try again in 60 minutes" in text or "Try again in 59 minutes" in text
    assert stored_counts(small_limits.app)[0] == 2

    headers = signed_in_headers(curator, f"multipart/form-data; boundary={BOUNDARY}")
    _, chunks = multipart([("note 3.txt", 1000)], token=headers["x-csrf-token"])
    exchange = call_app(small_limits.app, "POST", "/curate/uploads", chunks, headers)
    assert exchange.status == 429 and exchange.handed_out == 0  # refused before a byte of it was read

    other = client_as(small_limits, "curator")  # the cap is per account
    assert upload(other, [("note 4.txt", b"Other notes.")]).status_code == 303


def test_an_upload_that_fits_every_limit_still_goes_through(small_limits: TestClient):
    curator = client_as(small_limits, "curator")
    response = upload(curator, [("a.txt", b"a" * (MB - 10)), ("b.txt", b"b" * 1000)])
    assert response.status_code == 303, response.text
    assert stored_counts(small_limits.app) == (1, 2, 2)
    assert json.loads(small_limits.get("/api/health").text)  # the app is still answering
