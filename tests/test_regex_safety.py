"""Every text rule runs in linear time on hostile input: 5 MB lines with no whitespace or delimiters.

A rule whose regex backtracks (an e-mail pattern re-read from every character of a long word, a body that
runs past the next opener) takes minutes or hours on such a line; here each must finish in seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ingest.clean import RULES, Log
from ingest.outcomes import extract_outcomes
from ingest.parse import ParseError, parse_bytes
from ingest.passages import split_passages
from ingest.pipeline import ingest_paths
from ingest.structure import Section, detect_structure
from kb.store.models import IngestFile
from web.flows import open_engine

SIZE = 5 * 1024 * 1024
# Generous, finite: a linear rule takes well under a second here; a quadratic one takes hours.
RULE_BUDGET_SECONDS = 20.0
INGEST_BUDGET_SECONDS = 30.0
ADVERSARIAL = {
    "one character": "a",
    "a@": "a@",
    "digits": "1234567890",
    "dashes": "-",
    "pipes": "|",
}


def line_of(unit: str, size: int = SIZE) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def within_budget(run: Callable[[], object], budget: float = RULE_BUDGET_SECONDS) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    assert seconds < budget, f"took {seconds:.1f} s"
    return seconds


@pytest.fixture(scope="module", params=sorted(ADVERSARIAL), ids=sorted(ADVERSARIAL))
def hostile_line(request) -> str:
    return line_of(ADVERSARIAL[request.param])


@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_each_cleaning_rule_is_linear(rule, hostile_line: str):
    within_budget(lambda: rule([hostile_line], Log()))


def test_structure_passages_and_outcomes_are_linear(hostile_line: str):
    whole = [Section(path=("Heading",), kind="section", start=0, end=len(hostile_line))]
    within_budget(lambda: detect_structure(hostile_line))
    within_budget(lambda: split_passages(hostile_line, whole))
    within_budget(lambda: extract_outcomes(hostile_line))


@pytest.mark.parametrize(
    "unit",
    # Lines that were quadratic or worse before (openers with no closer, a word re-read from each of its
    # characters, a sentence end re-read from the line start): each took minutes to hours at this size.
    [
        "www.a",
        "^{",
        "[a",
        "<a",
        "<!--",
        "\\a{",
        ".",
        "_",
        "A. ",
        "a1",
        "if ",
        "5k.1111111111111111111111111111!",
    ],
)
def test_every_rule_is_linear_on_lines_of_openers_and_short_sentences(unit: str):
    text = line_of(unit, 256 * 1024)
    for rule in RULES:
        within_budget(lambda: rule([text], Log()))  # noqa: B023 (called at once)
    within_budget(lambda: detect_structure(text))
    within_budget(lambda: extract_outcomes(text))


def test_a_file_that_is_one_unbroken_token_is_refused_with_the_reason():
    with pytest.raises(ParseError, match="not prose"):
        parse_bytes(line_of("a@").encode(), filename="token.txt")
    # Prose with one long address in it is still prose.
    prose = "The hospital team met every week. " * 200 + "https://example.org/" + "x" * 1500
    assert parse_bytes(prose.encode(), filename="report.txt").text.startswith("The hospital team")


@pytest.mark.parametrize("unit", ["a", "a@", "1234567890", "-", "|"])
def test_a_5mb_single_line_file_is_refused_quickly_and_recorded_in_the_ledger(tmp_path: Path, settings, unit):
    path = tmp_path / "hostile.txt"
    path.write_text(line_of(unit))
    engine = open_engine(settings)
    started = time.perf_counter()
    summary = ingest_paths([path], engine=engine)
    assert time.perf_counter() - started < INGEST_BUDGET_SECONDS
    [result] = summary.files
    assert result.status == "failed" and "not prose" in (result.reason or "")
    with Session(engine) as session:
        entry = session.exec(select(IngestFile).where(IngestFile.run_id == summary.run_id)).one()
    assert entry.status == "failed" and "not prose" in (entry.reason or "")


def test_a_5mb_single_line_of_words_is_ingested_within_the_budget(tmp_path: Path, settings):
    path = tmp_path / "one-line.txt"
    path.write_text(line_of("Care home residents were seen 1,200 times in 2015. "))
    started = time.perf_counter()
    summary = ingest_paths([path], engine=open_engine(settings))
    assert time.perf_counter() - started < INGEST_BUDGET_SECONDS
    assert summary.files[0].status == "indexed", summary.files[0].reason
