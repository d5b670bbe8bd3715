"""A case study becomes one record per scheme whatever shape it is written in (no headings, an account's
headings, a one-page profile), and a document about several schemes still becomes several records."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from ingest.pipeline import ingest_paths
from kb.store.models import Intervention
from tests.conftest import write
from web.flows import open_engine

WHAT = (
    "Riverside Community Health runs a falls response team that visits older people at home within two hours "
    "of a fall reported by a care line, a GP or the ambulance service. The team is a paramedic and an "
    "occupational therapist, who check for injury, assess the home for hazards and arrange strength and "
    "balance classes."
)
HOW = (
    "The service was set up in 2016 with the local authority's reablement team, sharing one referral line and "
    "one record. Staff were trained together over three months, and the care line providers were given a "
    "direct number."
)
RESULT = (
    "Over its first year, falls admissions fell 18% over a year among people the team saw, compared with the "
    "year before. The partnership aims to cut falls by 30% by 2020."
)
LESSONS = (
    "Agreeing one referral line before launch mattered more than anything else. Teams found that joint "
    "training built trust between paramedics and therapists quickly."
)


def records(settings, name: str, content: str) -> list[Intervention]:
    engine = open_engine(settings)
    summary = ingest_paths([write(settings.data_dir.parent / name, content)], engine=engine, trigger="test")
    assert summary.indexed == 1, summary
    with Session(engine) as session:
        return list(session.exec(select(Intervention)))


def figures(record: Intervention) -> dict[str, str]:
    return {o["figure"]: o["kind"] for o in json.loads(record.outcomes_json)}


@pytest.mark.parametrize(
    "shape, content",
    [
        ("no headings", f"Riverside falls response service\n\n{WHAT}\n\n{HOW}\n\n{RESULT}\n"),
        (
            "three headings",
            f"# Riverside falls response service\n\n## What the team does\n\n{WHAT}\n\n"
            f"## How it was implemented\n\n{HOW}\n\n## Results\n\n{RESULT}\n",
        ),
        (
            "background, what we did, results, lessons",
            f"# Riverside falls response service\n\n## Background\n\nFalls were the commonest reason older "
            f"people in Riverside were taken to hospital, and many waited hours on the floor for help.\n\n"
            f"## What we did\n\n{WHAT} {HOW}\n\n## Results\n\n{RESULT}\n\n## Lessons\n\n{LESSONS}\n",
        ),
    ],
)
def test_one_scheme_is_one_record_whatever_its_headings(settings, shape, content):
    found = records(settings, "riverside.md", content)
    assert len(found) == 1, [r.title for r in found]
    record = found[0]
    assert record.title == "Riverside falls response service"
    assert figures(record) == {"18%": "result", "30%": "target"}
    assert record.evidence_level == "2"  # a before-and-after result, no comparison group
    assert "falls response team" in record.summary and not record.summary.startswith(
        "Riverside falls response"
    )
    assert "set up in 2016" in record.implementation


def test_an_accounts_sections_fill_the_records_fields(settings):
    content = (
        f"# Riverside falls response service\n\n## Background\n\nFalls were the commonest reason older people "
        f"in Riverside were taken to hospital, and many waited hours on the floor for help.\n\n"
        f"## What we did\n\n{WHAT}\n\n## How it was implemented\n\n{HOW}\n\n## Results\n\n{RESULT}\n\n"
        f"## Lessons learned\n\n{LESSONS}\n"
    )
    (record,) = records(settings, "riverside.md", content)
    assert record.context.startswith("Falls were the commonest reason")
    assert record.summary.startswith("Riverside Community Health runs a falls response team")
    assert record.implementation.startswith("The service was set up in 2016")
    assert record.lessons.startswith("Agreeing one referral line")


def test_a_document_about_several_schemes_is_several_records(settings):
    def scheme(name: str, what: str) -> str:
        return (
            f"## {name}\n\n{what} The team was set up in 2016 by the community trust and the council, and it "
            f"now works with every practice in the borough, sharing one record and meeting daily to plan "
            f"visits for the people most at risk of going into hospital. Referrals come from GPs, paramedics "
            f"and social workers through one telephone line.\n\n"
        )

    content = "# Three schemes in Riverside\n\n" + "".join(
        [
            scheme(
                "Hospital at home", "Consultant-led teams treat acutely ill older people in their own homes."
            ),
            scheme(
                "Care home support team",
                "Nurses and a named GP visit each care home weekly to review residents.",
            ),
            scheme("Falls response", "A paramedic and a therapist visit within two hours of a fall at home."),
        ]
    )
    found = records(settings, "schemes.md", content)
    assert sorted(r.title for r in found) == ["Care home support team", "Falls response", "Hospital at home"]


def test_a_long_report_is_not_collapsed_into_one_record(settings):
    """The one-scheme rule is for short accounts: a long document keeps its per-section records."""
    long_results = " ".join([RESULT] * 80)  # over the length of one scheme's account (8,000 characters)
    content = (
        f"# Riverside falls response service\n\n## What we did\n\n{WHAT}\n\n## Results\n\n{long_results}\n"
    )
    found = records(settings, "long.md", content)
    assert all(r.title != "Riverside falls response service" for r in found)


def test_each_of_our_own_case_studies_read_as_an_uncurated_document_is_one_record():
    """The 48 case studies in corpus/cases are written in many shapes (headed accounts, lists, tables of
    figures); read without their curated metadata, each still describes exactly one scheme."""
    from pathlib import Path

    from ingest.clean import clean_text
    from ingest.interventions import find_interventions
    from ingest.parse import parse_file
    from ingest.pipeline import domain_knowledge
    from ingest.structure import detect_structure

    vocabulary, taxonomy = domain_knowledge()
    cases = sorted((Path(__file__).resolve().parents[1] / "corpus" / "cases").glob("*.md"))
    assert len(cases) >= 40
    counts = {}
    for path in cases:
        parsed = parse_file(path)
        cleaned = clean_text(parsed.text)
        structure = detect_structure(cleaned.text, title=parsed.title)
        drafts = find_interventions(
            cleaned.text,
            structure.sections,
            document_key=path.name,
            vocabulary=vocabulary,
            taxonomy=taxonomy,
            title=parsed.title or structure.title,
        )
        counts[path.name] = len(drafts)
    assert {name: n for name, n in counts.items() if n != 1} == {}


def test_an_unheaded_list_of_schemes_is_not_one_record(settings):
    content = (
        "Schemes in Riverside\n\n"
        "- Hospital at home: consultant-led teams were set up to treat acutely ill older people in their own "
        "homes instead of admitting them.\n\n"
        "- Care home support: nurses and a named GP were introduced to visit each care home weekly and review "
        "every resident's medicines.\n\n"
        "- Falls response: a paramedic and a therapist were commissioned to visit within two hours of a fall "
        "at home, with the care line providers.\n"
    )
    found = records(settings, "list.md", content)
    assert len(found) == 3, [r.title for r in found]
