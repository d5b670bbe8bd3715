"""Evaluation queries stay out of the vocabulary and taxonomy, so the scores they give are not fitted to them.

The judged queries in ../shared/eval/*.jsonl measure search; a phrase copied from one into corpus/*.yaml
makes that query easy and says nothing about the next one. Runs of five or more words are the mechanical
check; shorter lay paraphrases were removed by hand (see the report on the search-honest branch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = REPO.parent / "shared" / "eval"
RUN = 5  # the threshold: five consecutive words in common is not chance


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words; punctuation (including "&" and thousands commas) separates them."""
    return re.findall(r"[a-z0-9]+", text.lower())


def mostly_numbers(run: tuple[str, ...]) -> bool:
    """ "30,000 to 50,000" is a figure that a document and a query can share by chance, not a phrase."""
    return sum(word.isdigit() for word in run) * 2 > len(run)


def runs(text: str, size: int = RUN) -> set[tuple[str, ...]]:
    tokens = words(text)
    grams = {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
    return {gram for gram in grams if not mostly_numbers(gram)}


def shared_runs(queries: list[str], text: str) -> set[tuple[str, ...]]:
    corpus = runs(text)
    return {gram for query in queries for gram in runs(query) if gram in corpus}


def eval_queries() -> list[str]:
    queries = []
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if isinstance(record.get("query"), str):
                    queries.append(record["query"])
    return queries


# --- the checker itself ------------------------------------------------------------------------


def test_a_five_word_run_is_found_whatever_the_case_and_punctuation() -> None:
    found = shared_runs(
        ["Booking, and paying for MY own taxi?"], "synonyms: [booking and paying for my own taxi]"
    )
    assert ("booking", "and", "paying", "for", "my") in found


def test_four_words_in_common_are_not_a_run() -> None:
    assert not shared_runs(["stop people going back home"], "[people going back into hospital]")


def test_runs_that_are_mostly_numbers_do_not_count() -> None:
    assert not shared_runs(
        ["neighbourhoods of 30,000 to 50,000 people"], "a population of about 30,000 to 50,000."
    )
    assert runs("the 2 best days of 2016") == {
        ("the", "2", "best", "days", "of"),
        ("2", "best", "days", "of", "2016"),
    }


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("yaml_path", sorted((REPO / "corpus").glob("*.yaml")), ids=lambda p: p.name)
def test_no_evaluation_query_phrase_is_in_the_corpus(yaml_path: Path) -> None:
    queries = eval_queries()
    if not queries:
        pytest.skip("the judged queries (../shared/eval/*.jsonl) are not beside this checkout")
    copied = shared_runs(queries, yaml_path.read_text(encoding="utf-8"))
    assert not copied, f"{yaml_path.name} holds evaluation-query phrases: " + " | ".join(
        " ".join(run) for run in sorted(copied)
    )
