"""The evidence summary for a question: what the catalogue records closest to it report, counted and cited.

Everything it says is counted from the records and worded by fixed templates: no generated prose. Only outcomes
of kind "result" are findings (a target, projection, baseline, activity count or story never is), and a finding
is kept only when a stored passage holds its figure as written, so every number can be checked at its source.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kb.taxonomy import Taxonomy, Term
from search.catalogue import CatalogueService, Filters, Record

MAX_RECORDS = 12  # the closest records a question is answered from
RELATIVE_SCORE = 0.6  # …each at least this share of the best record's relevance
COUNTED_MEASURES = {  # measures counted in events, so a fall reads "fewer …"
    "emergency-admissions",
    "avoidable-admissions",
    "ae-attendances",
    "bed-days",
    "readmissions",
    "care-home-placements",
    "delayed-transfers",
}
LEVEL_PHRASES = {
    "0": "plans only",
    "1": "described without data",
    "2": "before-and-after without a comparison group",
    "3": "with a comparison group",
    "4": "independently replicated",
    "5": "manualised for replication",
}
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|per\s?cent)$")  # a percentage, perhaps after "up to"

# (passage ids) -> {passage id: (document id, passage text)}
PassageLookup = Callable[[Iterable[int]], dict[int, tuple[int, str]]]


@dataclass(frozen=True)
class Finding:
    measure: str
    measure_label: str
    direction: str
    figure: str
    baseline: str
    period: str
    kind: str
    second_hand: bool
    intervention_id: int
    intervention_title: str
    site: str
    evidence_level: str
    passage_id: int
    document_id: int
    url: str

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "intervention_url": f"/interventions/{self.intervention_id}"
        }


@dataclass
class Answer:
    query: str
    records: list[Record]
    matching: int  # every record the catalogue matches (the summary reads the closest of them)
    measures: list[Term]  # the outcome measures the question names
    findings: list[Finding]
    gaps: list[str]
    verdict: str
    uncited: int = 0  # results left out because no stored passage holds their figure as written
    by_evidence_level: dict[str, int] = field(default_factory=dict)

    @property
    def interventions(self) -> int:
        return len(self.records)

    @property
    def sites(self) -> list[str]:
        """The named sites, once each (two records at one site id count once), as readers know them."""
        names = {site_name(r): r.row.site or site_name(r) for r in self.records if site_name(r)}
        return sorted(names.values())

    @property
    def strongest_level(self) -> str | None:
        return max(self.by_evidence_level, key=int, default=None)

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "interventions": self.interventions,
            "sites": len(self.sites),
            "site_names": self.sites,
            "matching": self.matching,
            "by_evidence_level": self.by_evidence_level,
            "strongest_evidence_level": self.strongest_level,
            "measures": [t.id for t in self.measures],
            "findings": [f.as_dict() for f in self.findings],
            "gaps": self.gaps,
            "verdict": self.verdict,
            "uncited_results": self.uncited,
            "records": [
                {
                    "id": r.row.id,
                    "title": r.row.title,
                    "site": r.row.site,
                    "evidence_level": r.row.evidence_level,
                }
                for r in self.records
            ],
        }


def site_name(record: Record) -> str:
    return record.row.site_id or record.row.site


def measures_named(text: str, taxonomy: Taxonomy) -> list[Term]:
    """The outcome measures whose label or a synonym occurs in the text (whole words, any case), with their
    narrower terms ("emergency admissions" also takes "avoidable admissions")."""
    lowered = " ".join(text.lower().split())
    named: list[Term] = []
    for term in taxonomy.dimensions.get("outcome_measure", ()):
        if term.id == "other":
            continue  # "other" names no measure
        phrases = {p.lower() for p in (term.label, *term.synonyms) if len(p) > 2}
        if any(re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", lowered) for p in phrases):
            named.append(term)
    wanted = {t.id for t in named}
    return [t for t in taxonomy.dimensions.get("outcome_measure", ()) if t.id in wanted or t.parent in wanted]


def closest_records(matches: list[tuple[Record, float]], *, ranked: bool) -> list[Record]:
    """The records a question is answered from: with a query, the best few and those nearly as relevant;
    with filters alone, every record they select."""
    if not ranked:
        return [record for record, _ in matches]
    if not matches:
        return []
    floor = matches[0][1] * RELATIVE_SCORE
    return [record for record, score in matches[:MAX_RECORDS] if score >= floor]


def cite(
    record: Record, figure: str, sentence: str, passages: dict[int, tuple[int, str]]
) -> tuple[int, int] | None:
    """(passage id, document id) of the record's passage that holds the figure as written, preferring the one
    that also holds the start of the sentence it came from; None when no stored passage holds it."""
    candidates = [p["passage_id"] for p in record.passages if p.get("passage_id") in passages]
    holding = [pid for pid in dict.fromkeys(candidates) if figure in passages[pid][1]]
    if not holding:
        return None
    opening = " ".join(sentence.split()[:6])
    best = next(
        (pid for pid in holding if opening and opening in " ".join(passages[pid][1].split())), holding[0]
    )
    return best, passages[best][0]


def findings_for(
    records: list[Record], *, measures: list[Term], taxonomy: Taxonomy, lookup: PassageLookup
) -> tuple[list[Finding], int]:
    """(findings, results left uncited): every result outcome of the records, of the named measures when the
    question names any, each citing a passage that holds its figure."""
    wanted = {t.id for t in measures}
    ids = {p["passage_id"] for r in records for p in r.passages if p.get("passage_id") is not None}
    passages = lookup(ids) if ids else {}
    findings, uncited = [], 0
    for record in records:
        seen: set[tuple[str, str]] = set()
        for outcome in record.outcomes:
            if outcome.get("kind") != "result" or (wanted and outcome.get("measure") not in wanted):
                continue
            figure, measure = str(outcome.get("figure") or ""), str(outcome.get("measure") or "other")
            if not figure or (figure, measure) in seen:
                continue
            seen.add((figure, measure))
            cited = cite(record, figure, str(outcome.get("sentence") or ""), passages)
            if cited is None:
                uncited += 1
                continue
            term = taxonomy.resolve("outcome_measure", measure)
            findings.append(
                Finding(
                    measure=measure,
                    measure_label=term.label if term else measure.replace("-", " "),
                    direction=str(outcome.get("direction") or ""),
                    figure=figure,
                    baseline=str(outcome.get("baseline") or ""),
                    period=str(outcome.get("period") or ""),
                    kind="result",
                    second_hand=bool(outcome.get("second_hand")),
                    intervention_id=record.row.id,  # type: ignore[arg-type]
                    intervention_title=record.row.title,
                    site=record.row.site,
                    evidence_level=record.row.evidence_level,
                    passage_id=cited[0],
                    document_id=cited[1],
                    url=f"/documents/{cited[1]}#passage-{cited[0]}",
                )
            )
    return findings, uncited


def evidence_gaps(records: list[Record], findings: list[Finding], measures: list[Term]) -> list[str]:
    """What kind of evidence is missing, in fixed words."""
    if not records:
        return ["nothing in kb matches this question"]
    levels = [r.row.evidence_level for r in records]
    gaps = []
    if all(level == "0" for level in levels):
        gaps.append("only plans")
    if not findings:
        gaps.append("no measured results")
    for term in measures:
        if term.parent is None and findings and not any(f.measure == term.id for f in findings):
            gaps.append(f"no results for {_name(term.label)}")
    if not any(level.isdigit() and int(level) >= 3 for level in levels):
        gaps.append("no comparison-group evidence")
    first_hand = [f for f in findings if not f.second_hand]
    if findings and not first_hand:
        gaps.append("every result is quoted second-hand")
    elif len({f.site for f in first_hand}) == 1:
        gaps.append("results from one site only")
    return gaps


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _name(label: str) -> str:
    """A measure's label inside a sentence: lower case unless it starts with an acronym ("A&E attendances")."""
    return label if label[:2].isupper() else label.lower()


def _change_phrase(measure: str, label: str, direction: str) -> str:
    name = _name(label)
    if measure in COUNTED_MEASURES and direction in ("decrease", "increase"):
        return f"{'fewer' if direction == 'decrease' else 'more'} {name}"
    return {
        "decrease": f"a fall in {name}",
        "increase": f"a rise in {name}",
        "no change": f"no change in {name}",
    }.get(direction, f"a result on {name}")


def _figure_span(findings: list[Finding]) -> str:
    """The figures as written: '(14% to 26.5%)' for more than four percentage changes, smallest to largest;
    up to four listed in that order; else up to three as they come (a from-to figure as 'X to Y')."""
    figures = list(dict.fromkeys(f"{f.baseline} to {f.figure}" if f.baseline else f.figure for f in findings))
    percents = {f.figure: _PERCENT.search(f.figure) for f in findings if not f.baseline}
    if len(percents) == len(figures) and all(percents.values()):
        ordered = sorted(percents, key=lambda figure: float(percents[figure].group(1)))  # type: ignore[union-attr]
        return f"({ordered[0]} to {ordered[-1]})" if len(ordered) > 4 else f"({', '.join(ordered)})"
    shown = ", ".join(figures[:3]) + (", …" if len(figures) > 3 else "")
    return f"({shown})"


def _evidence_phrase(levels: list[str]) -> str:
    known = sorted({int(level) for level in levels if level.isdigit()})
    if not known:
        return "of unknown strength"
    if len(known) == 1:
        return f"all {LEVEL_PHRASES[str(known[0])]}" if len(levels) > 1 else LEVEL_PHRASES[str(known[0])]
    return f"the strongest {LEVEL_PHRASES[str(known[-1])]}"


def verdict_for(records: list[Record], findings: list[Finding], measures: list[Term]) -> str:
    """One plain line from fixed templates: where it was tried, what the main finding is, and how strong."""
    if not records:
        return "Nothing in kb matches this question yet."
    sites = {site_name(r) for r in records if site_name(r)}
    tried = (
        f"Tried at {_plural(len(sites), 'site')}"
        if sites
        else f"{_plural(len(records), 'intervention')} found, no site named"
    )
    first_hand = [f for f in findings if not f.second_hand]
    if not first_hand:
        named = f" on {', '.join(_name(t.label) for t in measures if t.parent is None)}" if measures else ""
        levels = [r.row.evidence_level for r in records]
        tail = "; all are plans" if all(level == "0" for level in levels) else ""
        quoted = f"; {_plural(len(findings), 'result')} quoted second-hand" if findings else ""
        return f"{tried}; none reports a measured result{named}{quoted}{tail}."
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in first_hand:
        groups.setdefault((finding.measure, finding.direction), []).append(finding)
    (measure, direction), main = max(
        groups.items(), key=lambda item: (len({f.site for f in item[1]}), item[0][1] != "", len(item[1]))
    )
    reporting = len({f.intervention_id if not f.site else f.site for f in main})
    verb = "reports" if reporting == 1 else "report"
    line = f"{tried}; {reporting} {verb} {_change_phrase(measure, main[0].measure_label, direction)} {_figure_span(main)}"
    others = [f for f in first_hand if f not in main]
    if others:
        line += f", with {_plural(len(others), 'other result')}"
    line += f", {_evidence_phrase([f.evidence_level for f in first_hand])}"
    second = len(findings) - len(first_hand)
    if second:
        line += f"; {second} more quoted second-hand"
    return line + "."


def summarise(
    *,
    catalogue: CatalogueService,
    taxonomy: Taxonomy,
    lookup: PassageLookup,
    q: str | None,
    filters: Filters | None = None,
) -> Answer:
    """The evidence summary for a question and catalogue filters. Raises InvalidInput for an unknown filter."""
    query = (q or "").strip()
    matches = catalogue.matching(q=query or None, filters=filters)
    records = closest_records(matches, ranked=bool(query))
    measures = measures_named(query, taxonomy) if query else []
    findings, uncited = findings_for(records, measures=measures, taxonomy=taxonomy, lookup=lookup)
    levels = Counter(r.row.evidence_level for r in records)
    return Answer(
        query=query,
        records=records,
        matching=len(matches),
        measures=measures,
        findings=findings,
        gaps=evidence_gaps(records, findings, measures),
        verdict=verdict_for(records, findings, measures),
        uncited=uncited,
        by_evidence_level={
            level: levels[level]
            for level in sorted(levels, key=lambda v: int(v) if v.isdigit() else -1, reverse=True)
        },
    )
