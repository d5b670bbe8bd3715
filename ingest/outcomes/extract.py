"""Outcome figures in report text: find the quantities a span reports and say what kind each one is."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ingest.outcomes.figures import FIGURE_RE, MAGNITUDE, NUM, figure_text, skip_reason, span_skips
from ingest.outcomes.kinds import Evidence, decide_kind, has_pattern
from ingest.outcomes.lines import Line, clause_around, walk_lines
from ingest.outcomes.measures import direction_for, is_second_hand, measure_for, period_for
from ingest.text import is_table_row, split_sentences

__all__ = ["Outcome", "classify_sentence", "extract_outcomes"]


@dataclass(frozen=True)
class Outcome:
    measure: str  # an outcome_measure id, e.g. "emergency-admissions", or "other"
    direction: str  # "increase" | "decrease" | "no change" | "" (unknown)
    figure: str  # the figure as written: "14%", "£1.2m", "287,594", "19/35 → 29/35"
    kind: str  # "result" | "activity" | "target" | "projection" | "baseline" | "illustrative"
    period: str  # "2013/14", "between April and September 2014", or ""
    baseline: str  # the from-value of "from X to Y" (figure = Y), else ""
    second_hand: bool  # the result happened somewhere other than the site described
    sentence: str  # the sentence the figure came from
    start: int  # char offset of the figure within the input text
    confidence: float  # 0..1, how sure the deciding rule is of `kind`
    rule: str  # the rule that decided `kind`


_FROM_TO_RE = re.compile(
    rf"\bfrom\s+(?:around |about |approximately |c\.\s?)?(?P<a>£?(?:{NUM})(?:%|{MAGNITUDE})?)"
    rf"(?:\s+[^\s\d£]+){{0,4}}?(?:\s+(?:in|at|for)\s+[\w/ ]{{1,20}}?)?\s+(?:to|→)\s+"
    rf"(?:around |about |approximately |c\.\s?)?(?P<b>£?(?:{NUM})(?:%|{MAGNITUDE})?)"
)
_TO_FROM_RE = re.compile(
    rf"\bto\s+(?:around |about |approximately )?(?P<b>£?(?:{NUM})%?)(?:\s+\S+){{0,8}}?\s+from\s+"
    rf"(?:around |about |approximately )?(?P<a>£?(?:{NUM})%?)"
)
_CHANGE_VERB_BEFORE_FROM = r"(?:reduc|decreas|fell|fallen|drop|declin|increas|rose|risen|grown|grew|improv|went|moved|cut|shifted|changed|down|up)\w*"


def _from_to_pairs(sentence: str) -> dict[int, int]:
    """Offsets of "to"-values mapped to their "from"-values, where a change verb says it is a change."""
    pairs = {}
    for pattern in (_FROM_TO_RE, _TO_FROM_RE):
        for m in pattern.finditer(sentence):
            if re.search(
                _CHANGE_VERB_BEFORE_FROM, sentence[max(0, m.start() - 80) : m.start()], re.IGNORECASE
            ):
                pairs[m.start("b")] = m.start("a")
    return pairs


def _table_pair(cells: list[str]) -> tuple[int, int] | None:
    """In a table row with two or more numeric cells, the last is the figure and the one before its baseline."""
    numeric = [i for i, c in enumerate(cells) if re.fullmatch(rf"£?(?:{NUM})\s?%?", c.strip())]
    return (numeric[-2], numeric[-1]) if len(numeric) >= 2 else None


def _clean_sentence(sentence: str) -> str:
    return " ".join(sentence.replace("**", "").split()).lstrip("-•* ").strip()


# A "sentence" with more figures than this is a table or list that lost its layout, not prose whose figures
# can be classified; skipping it also keeps the work per sentence linear (each figure reads its sentence).
MAX_FIGURES_PER_SENTENCE = 40
# Section kinds (from ingest.structure) whose numbers are never outcomes: page numbers, volumes, ISBNs.
_NO_OUTCOME_SECTIONS = frozenset({"references", "toc", "boilerplate", "front_matter"})


def extract_outcomes(text: str, *, site: str | None = None, section_kind: str | None = None) -> list[Outcome]:
    """Find the figures a span of cleaned report text reports and classify each one.

    Takes the span (paragraphs separated by blank lines, bullets and " | " table rows allowed), the
    name of the site it describes (for second-hand detection) and an optional section kind
    ("illustrative" or "plan" force those kinds). Returns outcomes in text order; never raises on odd text.
    """
    if (section_kind or "").lower() in _NO_OUTCOME_SECTIONS:
        return []
    outcomes: list[Outcome] = []
    for line in walk_lines(text):
        if is_table_row(line.text):
            outcomes.extend(_table_outcomes(line, site, section_kind))
            continue
        skips = span_skips(line.text)
        previous = ""
        for offset, sentence in split_sentences(line.text):
            outcomes.extend(_sentence_outcomes(line, offset, sentence, previous, skips, site, section_kind))
            previous = sentence
    return outcomes


def _sentence_outcomes(
    line: Line,
    offset: int,
    sentence: str,
    previous: str,
    skips: list[tuple[int, int]],
    site: str | None,
    section_kind: str | None,
) -> list[Outcome]:
    figures = FIGURE_RE.finditer(line.text, offset, offset + len(sentence))
    if sum(1 for _ in itertools.islice(figures, MAX_FIGURES_PER_SENTENCE + 1)) > MAX_FIGURES_PER_SENTENCE:
        return []
    pairs = _from_to_pairs(sentence)
    from_values = set(pairs.values())
    context = f"{line.lead_in} {sentence}".strip()
    out = []
    for m in FIGURE_RE.finditer(line.text, offset, offset + len(sentence)):
        if skip_reason(line.text, m, skips):
            continue
        pos = m.start() - offset
        if pos in from_values:
            continue  # the from-value lives in the to-value's `baseline`
        figure = figure_text(m.group())
        clause = clause_around(sentence, pos)
        local = sentence[max(0, pos - 50) : m.end() - offset + 50]
        local = local if len(clause) > len(local) else clause
        ev = Evidence(local, clause, context, figure, line.story, section_kind, line.lead_in)
        kind, confidence, rule = decide_kind(ev)
        baseline = ""
        if pos in pairs:
            baseline = figure_text(FIGURE_RE.match(sentence, pairs[pos]).group())  # type: ignore[union-attr]
        out.append(
            Outcome(
                measure=measure_for(clause, figure, sentence, line.lead_in, previous),
                direction=direction_for(clause, figure, baseline),
                figure=figure,
                kind=kind,
                period=period_for(sentence) or period_for(line.lead_in),
                baseline=baseline,
                second_hand=is_second_hand(context, site, line.elsewhere),
                sentence=_clean_sentence(sentence),
                start=line.start + m.start(),
                confidence=confidence,
                rule=rule,
            )
        )
    return out


def _table_outcomes(line: Line, site: str | None, section_kind: str | None) -> list[Outcome]:
    """A data row: "Readmission rate | 10.22% | 2.27%" reads as a measure going from baseline to result."""
    separator = "\t" if "\t" in line.text.strip("\t ") else " | "
    cells = line.text.split(separator)
    pair = _table_pair(cells)
    if pair is None:
        return []
    before_cell, after_cell = cells[pair[0]].strip(), cells[pair[1]].strip()
    figure_start = line.text.rfind(after_cell)
    label = " ".join(c for c in cells if not re.search(r"\d", c)) or line.header
    context = f"{line.lead_in} {line.header} {label}"
    ev = Evidence(label, label, context, after_cell, line.story, section_kind, line.lead_in)
    kind, confidence, rule = decide_kind(ev)
    if rule in {"no_cue", "measured_finding", "baseline_context"} and has_pattern(
        r"baseline|before", line.header
    ):
        kind, confidence, rule = "result", 0.6, "table_before_after"
    return [
        Outcome(
            measure=measure_for(label, after_cell, line.lead_in),
            direction=direction_for(label, after_cell, before_cell),
            figure=after_cell,
            kind=kind,
            period=period_for(line.header) or period_for(line.lead_in),
            baseline=before_cell,
            second_hand=is_second_hand(context, site, line.elsewhere),
            sentence=_clean_sentence(line.text.replace("\t", " | ")),
            start=line.start + figure_start,
            confidence=confidence,
            rule=rule,
        )
    ]


def classify_sentence(sentence: str) -> tuple[str, float, str]:
    """The kind a sentence's figures get from its own wording: (kind, confidence, rule name).

    The whole sentence stands in for the figure's clause; extract_outcomes decides per figure.
    """
    m = next(
        (m for m in FIGURE_RE.finditer(sentence) if not skip_reason(sentence, m, span_skips(sentence))),
        None,
    )
    figure = figure_text(m.group()) if m else ""
    return decide_kind(Evidence(local=sentence, clause=sentence, sentence=sentence, figure=figure))
