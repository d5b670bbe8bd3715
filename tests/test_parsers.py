"""Tests for ingest.parse: every supported format, and the bad files users really upload."""

import json
import random
import zipfile
from pathlib import Path

import docx
import pytest

from ingest.parse import SUPPORTED_SUFFIXES, ParsedFile, ParseError, parse_bytes, parse_file


def make_pdf(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text object per page and a correct xref table."""
    objects: dict[int, bytes] = {}
    font = 3 + 2 * len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects[3 + 2 * i] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        ).encode()
        objects[4 + 2 * i] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    info = None
    if title is not None:
        info = font + 1
        objects[info] = f"<< /Title ({title}) >>".encode("latin-1")
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_at = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    info_ref = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, info_ref, xref_at)
    return bytes(out)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def parse_error(path: Path, **kwargs) -> str:
    with pytest.raises(ParseError) as caught:
        parse_file(path, **kwargs)
    assert caught.value.reason == str(caught.value)
    return caught.value.reason


# ---------------------------------------------------------------------------- dispatch and limits


def test_supported_suffixes_match_the_contract():
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}


def test_unknown_suffix_names_the_suffix_and_the_supported_list(tmp_path):
    reason = parse_error(write(tmp_path, "report.xyz", "hello"))
    assert reason.startswith("unsupported file type '.xyz'")
    assert ".pdf" in reason and ".docx" in reason


def test_suffix_is_case_insensitive(tmp_path):
    parsed = parse_file(write(tmp_path, "NOTES.TXT", "hello"))
    assert parsed.format == "txt"


def test_oversize_file_is_refused_with_size_and_limit(tmp_path):
    path = write(tmp_path, "big.txt", "x" * 900)
    reason = parse_error(path, max_bytes=500)
    assert reason == "the file is too large (900 bytes; the limit is 500 bytes)"
    with pytest.raises(ParseError, match="too large"):
        parse_bytes(b"x" * 900, filename="big.txt", max_bytes=500)
    assert "3.0 MB" in parse_error(write(tmp_path, "huge.txt", b"x" * (3 * 1024 * 1024)), max_bytes=1024)


def test_oversize_is_checked_with_stat_before_reading(tmp_path, monkeypatch):
    path = write(tmp_path, "big.txt", "x" * 2000)

    def refuse_to_open(*args, **kwargs):
        raise AssertionError("parse_file read a file it should have refused from its size")

    monkeypatch.setattr(Path, "open", refuse_to_open)
    assert "too large" in parse_error(path, max_bytes=1000)


def test_missing_file_is_a_parse_error(tmp_path):
    assert "could not read the file" in parse_error(tmp_path / "missing.txt")


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf", "empty.docx"])
def test_empty_file(tmp_path, name):
    assert parse_error(write(tmp_path, name, b"")) == "the file is empty"


@pytest.mark.parametrize("name", ["blank.txt", "blank.md", "blank.html", "blank.pdf"])
def test_whitespace_only_file(tmp_path, name):
    assert parse_error(write(tmp_path, name, " \n\t\r\n  ")) == "the file is empty"


# ---------------------------------------------------------------------------- text decoding


def test_plain_utf8_text(tmp_path):
    parsed = parse_file(write(tmp_path, "notes.txt", "Virtual wards\n\nReduced admissions – 12%\n"))
    assert parsed == ParsedFile(
        text="Virtual wards\n\nReduced admissions – 12%\n", title=None, metadata={}, format="txt"
    )


def test_binary_content_named_txt(tmp_path):
    noise = bytes((i * 37 + 11) % 256 for i in range(4096)) + b"\x00\x00\x00"
    assert parse_error(write(tmp_path, "noise.txt", noise)) == "binary content, not text"


def test_mostly_control_characters_without_nul_is_binary(tmp_path):
    data = b"abc" + b"\x01\x02\x03\x04" * 10
    assert parse_error(write(tmp_path, "ctl.txt", data)) == "binary content, not text"


def test_latin1_text_is_decoded_and_the_encoding_recorded(tmp_path):
    parsed = parse_file(write(tmp_path, "menu.txt", "café £5".encode("latin-1")))
    assert parsed.text == "café £5"
    assert parsed.metadata["encoding"] in {"cp1252", "latin-1"}


def test_cp1252_smart_quotes(tmp_path):
    parsed = parse_file(write(tmp_path, "q.txt", "“care” costs €5".encode("cp1252")))
    assert parsed.text == "“care” costs €5"
    assert parsed.metadata == {"encoding": "cp1252"}


def test_utf8_bom_is_stripped(tmp_path):
    parsed = parse_file(write(tmp_path, "bom.txt", b"\xef\xbb\xbfHello"))
    assert parsed.text == "Hello"
    assert parsed.metadata == {}


def test_utf16_with_bom(tmp_path):
    parsed = parse_file(write(tmp_path, "wide.txt", "Hello café".encode("utf-16")))
    assert parsed.text == "Hello café"
    assert parsed.metadata == {"encoding": "utf-16"}


def test_crlf_and_cr_become_lf(tmp_path):
    parsed = parse_file(write(tmp_path, "dos.txt", b"one\r\ntwo\rthree\n"))
    assert parsed.text == "one\ntwo\nthree\n"


# ---------------------------------------------------------------------------- markdown

FRONT_MATTER_MD = """\
---
title: Frailty hub evaluation
date: 2024-03-01
updated: 2024-03-05T09:30:00Z
tags: [frailty, "virtual wards"]
authors:
  - name: A. Smith
---
# Introduction

A *short* paragraph with a [link](https://example.org) and **bold** text.

<script>alert(1)</script>

- first item
- second item with `code`
  1. nested item

Inline <span onclick="alert(2)">span</span> and <script>alert(3)</script> gone.

```
def keep_me():
    return "code <kept>"
```

| Metric | Change |
|--------|--------|
| Admissions | -12% |
"""


def test_markdown_with_front_matter(tmp_path):
    parsed = parse_file(write(tmp_path, "hub.md", FRONT_MATTER_MD))
    assert parsed.format == "md"
    assert parsed.title == "Frailty hub evaluation"
    assert parsed.metadata == {
        "title": "Frailty hub evaluation",
        "date": "2024-03-01",
        "updated": "2024-03-05T09:30:00+00:00",
        "tags": ["frailty", "virtual wards"],
        "authors": [{"name": "A. Smith"}],
    }
    json.dumps(parsed.metadata)  # must be JSON-serialisable
    text = parsed.text
    assert text.startswith("Introduction\n\nA short paragraph with a link and bold text.\n\n")
    assert "- first item\n- second item with code\n- nested item" in text
    assert "Inline span and gone." in text
    assert 'def keep_me():\n    return "code <kept>"' in text
    assert "Metric\tChange\nAdmissions\t-12%" in text
    for leaked in ("alert", "<script", "onclick", "https://example.org", "#", "*", "title:"):
        assert leaked not in text


def test_markdown_without_front_matter_takes_title_from_first_h1(tmp_path):
    parsed = parse_file(write(tmp_path, "notes.markdown", "Intro line\n\n# Real title\n\nBody\n"))
    assert parsed.title == "Real title"
    assert parsed.metadata == {}
    assert parsed.text == "Intro line\n\nReal title\n\nBody"


def test_markdown_javascript_link_keeps_only_the_link_text(tmp_path):
    parsed = parse_file(write(tmp_path, "x.md", "See [the plan](javascript:alert(1)) now."))
    assert parsed.text == "See the plan now."


def test_malformed_front_matter(tmp_path):
    reason = parse_error(write(tmp_path, "bad.md", "---\ntitle: [unclosed\n---\nBody\n"))
    assert reason.startswith("the front matter is not valid YAML: ")
    assert "\n" not in reason


def test_front_matter_alias_bomb_is_refused_quickly(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        bomb.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    text = "---\n" + "\n".join(bomb) + "\n---\nBody\n"
    assert "front matter is too large" in parse_error(write(tmp_path, "bomb.md", text))


def test_markdown_of_only_raw_html_has_no_text(tmp_path):
    reason = parse_error(write(tmp_path, "x.md", "<script>\nalert(1)\n</script>\n"))
    assert reason.startswith("no text could be extracted")


# ---------------------------------------------------------------------------- html

HOSTILE_HTML = (
    "<html><head><title>Care  &amp; support</title><style>body { color: red }</style>"
    "<script>alert('head')</script></head><body onload=\"alert('load')\">"
    "<nav>Home | About</nav>"
    "<h1>Community <em>nursing</em></h1>"
    "<p>Hello <b>world</b><br>next line "
    "<a href=\"javascript:alert('x')\" onclick=\"alert('y')\">click</a></p>"
    "<ul><li>one</li><li><p>two</p></li></ul>"
    "<table><tr><th>Site</th><th>Beds</th></tr><tr><td>North</td><td>12</td></tr></table>"
    "<noscript><img src=x onerror=alert(1)></noscript><template><p>alert</p></template>"
    "<iframe src=\"javascript:alert('f')\"></iframe><svg><script>alert('svg')</script></svg>"
    "<textarea><script>alert('t')</script></textarea><!-- <script>alert('c')</script> -->"
    "<footer>Copyright</footer>"
    "<div>unclosed <span>tags <p>everywhere" + "<div>" * 5000 + "deep text"
)


def test_hostile_html_yields_text_only(tmp_path):
    parsed = parse_file(write(tmp_path, "page.html", HOSTILE_HTML))
    assert parsed.format == "html"
    assert parsed.title == "Care & support"
    text = parsed.text
    assert text.startswith("Community nursing\n\nHello world\nnext line click\n\n- one\n- two\n\n")
    assert "Site\tBeds\nNorth\t12" in text
    assert "unclosed tags" in text and "everywhere" in text
    assert text.endswith("deep text")
    for leaked in ("alert", "<", ">", "onclick", "javascript", "color", "Home | About", "Copyright"):
        assert leaked not in text
    assert "\n\n\n" not in text


def test_absurdly_deep_html_is_refused_before_parsing(tmp_path):
    # Lexbor takes about a minute on this; the guard answers at once.
    data = "<div>" * 200_000 + "x" + "</div>" * 200_000
    assert parse_error(write(tmp_path, "deep.html", data)) == "the HTML is nested too deeply to read"


def test_html_title_falls_back_to_h1(tmp_path):
    parsed = parse_file(write(tmp_path, "page.htm", "<h1>Heading <script>x()</script>one</h1><p>Body</p>"))
    assert parsed.title == "Heading one"
    assert parsed.text == "Heading one\n\nBody"


def test_html_with_no_visible_text(tmp_path):
    reason = parse_error(write(tmp_path, "x.html", "<script>alert(1)</script><style>p{}</style>"))
    assert reason.startswith("no text could be extracted")


# ---------------------------------------------------------------------------- pdf


def test_pdf_text_title_and_pages(tmp_path):
    data = make_pdf([["Integrated care pilot", "Reduced admissions"], ["Second page"]], title="Pilot")
    parsed = parse_file(write(tmp_path, "report.pdf", data))
    assert parsed.format == "pdf"
    assert parsed.title == "Pilot"
    assert parsed.metadata == {"pages": 2}
    assert parsed.text == "Integrated care pilot\nReduced admissions\n\nSecond page"


def test_pdf_without_title_metadata(tmp_path):
    parsed = parse_file(write(tmp_path, "report.pdf", make_pdf([["Hello"]])))
    assert parsed.title is None
    assert parsed.text == "Hello"


def test_truncated_pdf(tmp_path):
    data = make_pdf([["Integrated care pilot"], ["Second page"]])
    reason = parse_error(write(tmp_path, "cut.pdf", data[: len(data) // 2]))
    assert reason.startswith("could not read the PDF: ")


def test_text_renamed_to_pdf(tmp_path):
    assert parse_error(write(tmp_path, "fake.pdf", "just some text")).startswith("could not read the PDF")


def test_pdf_with_no_text(tmp_path):
    assert parse_error(write(tmp_path, "blank.pdf", make_pdf([[]]))).startswith("no text could be extracted")


# ---------------------------------------------------------------------------- docx


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.author = "Care Team"
    document.add_heading("Discharge to assess", level=1)
    document.add_paragraph("Patients went home sooner.")
    document.add_paragraph("Fewer delayed transfers", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Measure", "Result"), ("Length of stay", "-1.5 days")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("After the table.")
    document.save(path)
    return path


def test_docx_keeps_headings_lists_and_tables_in_order(tmp_path):
    parsed = parse_file(make_docx(tmp_path / "d2a.docx"))
    assert parsed.format == "docx"
    assert parsed.title == "Discharge to assess"  # no core title, so the first heading
    assert parsed.text == (
        "Discharge to assess\n\n"
        "Patients went home sooner.\n\n"
        "- Fewer delayed transfers\n\n"
        "Measure\tResult\n"
        "Length of stay\t-1.5 days\n\n"
        "After the table."
    )
    assert parsed.metadata["author"] == "Care Team"
    json.dumps(parsed.metadata)


def test_docx_core_title_wins(tmp_path):
    path = make_docx(tmp_path / "d2a.docx")
    document = docx.Document(path)
    document.core_properties.title = "Core title"
    document.save(path)
    assert parse_file(path).title == "Core title"


def test_text_renamed_to_docx(tmp_path):
    assert parse_error(write(tmp_path, "fake.docx", "plain text")).startswith("not a valid .docx file")


def test_zip_that_is_not_a_word_document(tmp_path):
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("hello.txt", "hi")
    assert parse_error(path).startswith("not a valid .docx file")


def test_docx_with_damaged_document_xml(tmp_path):
    good = make_docx(tmp_path / "good.docx")
    damaged = tmp_path / "damaged.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]  # cut mid-element: the XML no longer parses
            target.writestr(item, data)
    assert parse_error(damaged).startswith("not a valid .docx file")


def test_truncated_docx(tmp_path):
    data = make_docx(tmp_path / "good.docx").read_bytes()
    assert parse_error(write(tmp_path, "cut.docx", data[: len(data) // 2])).startswith("not a valid .docx")


def test_docx_with_no_text(tmp_path):
    path = tmp_path / "blank.docx"
    docx.Document().save(path)
    assert parse_error(path).startswith("no text could be extracted")


# ---------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_random_bytes_only_ever_raise_parse_error(suffix):
    for seed in range(5):
        data = random.Random(seed).randbytes(64 + seed * 100)
        try:
            parse_bytes(data, filename=f"x{suffix}")
        except ParseError:
            pass
