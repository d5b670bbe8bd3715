"""Tests for ingest.outcomes on real sentences from the seed documents, plus a recall floor on the gold set
(the measurement itself is bench/bench_outcomes.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ingest.outcomes import Outcome, classify_sentence, extract_outcomes

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD = SHARED / "eval" / "dev_interventions.jsonl"


def by_figure(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.figure: o for o in outcomes}


def figures(text: str, **kwargs: str) -> list[str]:
    return [o.figure for o in extract_outcomes(text, **kwargs)]


# --- results --------------------------------------------------------------------------------------------


def test_result_before_after_from_worcestershire_care_homes() -> None:
    # seed 004 L3000 (Worcestershire care homes case study).
    text = (
        "At the end of March 2014 the project resulted in the production of CMPs for 2,100 care home residents "
        "in South Worcestershire. In year one evaluation of this project revealed a 26.5% reduction in all "
        "admissions when compared to the same period in the previous year, with a 23.1% reduction in A&E "
        "attendances from care homes, with savings in the region of £700,000."
    )
    found = by_figure(extract_outcomes(text, site="South Worcestershire"))
    assert found["26.5%"].kind == "result"
    assert found["26.5%"].measure == "emergency-admissions"
    assert found["26.5%"].direction == "decrease"
    assert found["23.1%"].measure == "ae-attendances"
    assert found["£700,000"].measure == "cost-and-savings"
    assert found["£700,000"].kind == "result"
    assert found["2,100"].kind == "activity"
    assert not found["26.5%"].second_hand
    assert text[found["23.1%"].start :].startswith("23.1%")


def test_result_bullets_inherit_the_findings_lead_in() -> None:
    # seed 004 L1019-1022 (Islington MDT teleconferences).
    text = (
        "- In 2014 we evaluated our multi-disciplinary (MDT) teleconferences in operation, discussing around "
        "500 patients since November 2012. Early findings included:\n"
        " - 27% reduction in A&E attendances,\n - 25% reduction in inpatient admissions\n"
        " - 4% decrease in outpatient appointments\n"
    )
    found = by_figure(extract_outcomes(text, site="Islington"))
    assert found["500"].kind == "activity"
    assert (found["27%"].kind, found["27%"].measure, found["27%"].direction) == (
        "result",
        "ae-attendances",
        "decrease",
    )
    assert found["25%"].measure == "emergency-admissions"
    assert found["4%"].measure == "outpatient-attendances"


def test_result_growth_and_reach_from_southend_spor() -> None:
    # seed 004 L2292 (Southend single point of referral).
    text = (
        "As of November 2014, 62% of our GPs (200+) use the services provided by the SPoR. For the period "
        "April – September 2014 referrals into the SPoR from both the discharge team and GPs have grown by 132%."
    )
    found = by_figure(extract_outcomes(text, site="Southend-on-Sea"))
    assert found["62%"].kind == "activity"  # reach of the service, not an outcome for patients
    assert found["132%"].kind == "result"
    assert found["132%"].direction == "increase"
    assert found["132%"].period == "For the period April – September 2014"


def test_from_to_puts_the_from_value_in_baseline() -> None:
    # seed 004 L1708 (South Devon and Torbay profile).
    text = (
        "- The number of residents supported by Torbay Local Authority in residential care placements as on "
        "31 March of the year reduced from 739 in 2011 to 663 in 2014"
    )
    [outcome] = extract_outcomes(text, site="South Devon and Torbay")
    assert (outcome.figure, outcome.baseline, outcome.kind) == ("663", "739", "result")
    assert outcome.measure == "care-home-placements"
    assert outcome.direction == "decrease"


def test_table_row_reads_baseline_then_result() -> None:
    # seed 004 L994-998 (Islington ILAT mini-table), raw tabs and the cleaner's " | " form.
    lead = (
        "- Integrated Liaison and Assessment Team (ILAT) providing access to mental health assessment and treatment "
        "at A&E and on the wards, showing an excellent impact on length of stay and a downward trend in admissions "
        "and readmissions:\n\n"
    )
    for sep in ("\t", " | "):
        rows = sep.join(
            ["Oct 2014 - Sep 2015", "Whittington Baseline (any MH diagnosis)", "ILAT intervention"]
        )
        rows += (
            "\n"
            + sep.join(["AVLOS (days)", "5.56", "2.59"])
            + "\n"
            + sep.join(["Readmission rate", "10.22%", "2.27%"])
        )
        found = by_figure(extract_outcomes(lead + rows, site="Islington"))
        assert set(found) == {"2.59", "2.27%"}
        assert (found["2.27%"].baseline, found["2.27%"].measure, found["2.27%"].kind) == (
            "10.22%",
            "readmissions",
            "result",
        )
        assert found["2.59"].measure == "length-of-stay"
        assert found["2.59"].direction == "decrease"


def test_avoided_events_are_results_held_loosely() -> None:
    # seed 004 L1225 (Kent profile, Canterbury co-ordinators).
    text = (
        "In Canterbury the current service has had over 3,363 contacts, with 1,920 A&E attendances avoided and "
        "1,443 admissions avoided over the year January 2014 – January 2015. The cost saving to the local health "
        "economy has been identified as over £200k."
    )
    found = by_figure(extract_outcomes(text, site="Canterbury and West Kent"))
    assert found["3,363"].kind == "activity"
    assert found["1,920"].kind == "result" and found["1,920"].rule == "avoided_events"
    assert found["1,920"].confidence < found["£200k"].confidence
    assert found["1,443"].measure == "emergency-admissions"
    assert found["£200k"].kind == "result"
    assert found["1,920"].period == "over the year January 2014 – January 2015"


def test_classify_sentence_result() -> None:
    # seed 003 L3263 (Torbay, quoted in Buckinghamshire's frail older people strategy).
    kind, confidence, rule = classify_sentence(
        "Emergency bed day use has fallen on average by 28% for age groups from 75+ and is the lowest in the SW region"
    )
    assert (kind, rule) == ("result", "achieved_change")
    assert confidence >= 0.7


# --- targets and projections ----------------------------------------------------------------------------


def test_target_with_expects_to_reduce() -> None:
    # seed 004 L2564 (WELC success measures).
    text = (
        "- Health and wellbeing outcomes – WELC Integrated Care expects to reduce emergency admissions by 20-40% "
        "(dependent on variable baseline rates)"
    )
    assert {o.kind for o in extract_outcomes(text, site="WELC")} <= {"target", "projection"}
    assert not [o for o in extract_outcomes(text) if o.kind == "result"]


def test_target_lead_in_governs_past_tense_bullets() -> None:
    # seed 004 L2729-2734 (West Norfolk: success criteria written as if achieved).
    text = (
        "We will know we are successful when:\n\n- People are more satisfied with their care\n"
        "- Inappropriate admissions to hospital have been reduced (to 2010/11 levels) and to care/nursing homes "
        "(by 5% per year)\n"
    )
    [outcome] = extract_outcomes(text, site="West Norfolk")
    assert (outcome.figure, outcome.kind) == ("5%", "target")


def test_classify_sentence_target() -> None:
    # seed 004 L2885 (Worcestershire) style aim, and a future-dated figure.
    assert classify_sentence("We aim to reduce emergency admissions by 15% by 2016.")[0] == "target"
    # seed 004 L1748: "By 2021, the rate for England will be 2.9%, but 4.9% in Torbay."
    assert classify_sentence("By 2021, the rate for England will be 2.9%, but 4.9% in Torbay.")[0] in {
        "target",
        "projection",
    }


def test_projection_rule() -> None:
    # seed 004 L2317 (Stoke and North Staffordshire area profile).
    sentence = "Currently around 22,000 people live with cancer, projected to rise by 68% to 36,600 by 2025."
    kind, _, rule = classify_sentence(sentence)
    assert (kind, rule) == ("projection", "projection_language")
    found = by_figure(extract_outcomes(sentence))
    assert found["68%"].kind == "projection"
    assert found["22,000"].kind in {"baseline", "projection"}
    # seed 000 L342 (Frimley): a counterfactual is not a result.
    counterfactual = "Based on previous experience, we would have expected emergency admissions to grow by 3,000 in 2017/18."
    [outcome] = extract_outcomes(counterfactual, site="Frimley")
    assert outcome.kind == "projection"


def test_infographic_projections_follow_their_lead_in() -> None:
    # seed 003 L2098-2107 (primary care strategy infographic), as the cleaner leaves it.
    text = (
        "64% are overweight or obese. Almost a quarter of people are inactive.\n\n"
        "If we carry on like this, by 2023 there will be:\n\n54% increase in diabetes\n\n"
        "28% increase in high blood pressure\n\n18% increase in heart attack\n\n5% increase in stroke\n"
    )
    found = by_figure(extract_outcomes(text, site="Buckinghamshire"))
    assert found["64%"].kind == "baseline"
    assert [found[f].kind for f in ("54%", "28%", "18%", "5%")] == ["projection"] * 4


# --- baseline and activity ------------------------------------------------------------------------------


def test_baseline_population_and_prevalence() -> None:
    # seed 004 L72 (Barnsley profile).
    text = (
        "The borough of Barnsley has a population of approximately 235,800 residents, with 31% of the population "
        "living in the 20% most deprived areas in the country."
    )
    found = by_figure(extract_outcomes(text, site="Barnsley"))
    assert found["235,800"].kind == "baseline"
    assert found["31%"].kind == "baseline"
    assert classify_sentence(text)[0] == "baseline"


def test_activity_counts() -> None:
    # seed 001 L237 (Airedale telemedicine) and seed 004 L714 (Cornwall volunteers).
    airedale = (
        "A good example has been established in West Yorkshire, where Airedale and Partners (enhanced health in "
        "care homes) vanguard currently provides 24 hours a day, seven days a week telemedicine (clinical "
        "consultation via secure encrypted video links) to 133 care homes in Airedale, Wharfedale, Craven, "
        "Bradford and East Lancashire."
    )
    [homes] = [o for o in extract_outcomes(airedale, site="Airedale") if o.figure == "133"]
    assert homes.kind == "activity" and homes.measure == "reach-activity"
    cornwall = "There are 67 volunteers recruited by Age UK and Volunteer Cornwall, which carries out the recruitment."
    [volunteers] = extract_outcomes(cornwall, site="Cornwall")
    assert (volunteers.figure, volunteers.kind) == ("67", "activity")
    assert (
        classify_sentence("Talking Health has engaged over 1,600 households since mid-November 2014.")[0]
        == "activity"
    )


# --- stories and second-hand evidence --------------------------------------------------------------------


def test_persona_story_mrs_t() -> None:
    # seed 004 L1120-1122 (Islington N19 case study): the age is not a figure, the story is illustrative.
    text = (
        "Patient Story – Mrs T\n\nMrs T is a 98 year old woman who was recently admitted into Whittington Hospital.\n\n"
        "She was seen 3 times by the support advisor."
    )
    outcomes = extract_outcomes(text, site="Islington")
    assert "98" not in [o.figure for o in outcomes]
    assert [o.kind for o in outcomes] == ["illustrative"]
    assert classify_sentence("Mrs T is a 98 year old woman who had 2 falls last year.")[0] == "illustrative"


def test_how_it_could_happen_scenarios_are_illustrative() -> None:
    # seed 003 L3111-3131 (frail older people strategy: fictionalised scenarios for Reg and Ethel).
    text = (
        "To illustrate how this would work a couple of fictionalised scenarios have been developed.\n\n"
        "Ethel's story\n\nEthel lives on her own and has been coping since the death of her husband two years ago. "
        "She's 81 and has no children living nearby.\n\n"
        "She stayed in hospital for 6 days and then came home with support from the ACHT. They provided care and "
        "support with visits 3 times a day for a fortnight and then referred her to social care via CR&R.\n"
    )
    outcomes = extract_outcomes(text, site="Buckinghamshire")
    assert "81" not in [o.figure for o in outcomes]
    assert outcomes and all(o.kind == "illustrative" for o in outcomes)
    # seed 004 L617-636: Beatrice's before/after card.
    card = "Beatrice's story\n\nBefore\n\n- Anxious\n\nAfter\n\n- Wellbeing score 19/35 → 29/35\n"
    [score] = extract_outcomes(card, site="Cornwall")
    assert (score.figure, score.kind, score.measure) == ("19/35 → 29/35", "illustrative", "wellbeing")


def test_experience_from_elsewhere_is_second_hand() -> None:
    # seed 003 L3156-3168 (Greenwich, quoted in Buckinghamshire's frail older people strategy).
    text = (
        "Experience from elsewhere\n\nGreenwich has put in place integrated health and social care teams to provide "
        "a whole-system response to intermediate care, hospital discharge, urgent care, and community rehabilitation.\n\n"
        "The operational model has seen improvements across the system including:\n\n"
        "- On average, 64% of people entering the new pathway require no further services after completion of the pathway\n"
        "- 7% reduction in admission to care homes per annum\n"
    )
    quoted = by_figure(extract_outcomes(text, site="Buckinghamshire"))
    assert quoted["7%"].kind == "result" and quoted["7%"].second_hand
    assert quoted["7%"].measure == "care-home-placements"
    assert quoted["64%"].second_hand
    # The same lines describe Greenwich's own result when Greenwich is the site.
    own = by_figure(extract_outcomes(text, site="Greenwich"))
    assert not own["7%"].second_hand


def test_named_place_and_evidence_phrases_are_second_hand() -> None:
    # seed 003 L3263 (Torbay) without its heading, and an "evidence from" attribution.
    torbay = "Torbay have operated an integrated delivery model. In Torbay, emergency bed day use has fallen by 28%."
    [outcome] = extract_outcomes(torbay, site="Buckinghamshire")
    assert outcome.second_hand
    [own] = extract_outcomes(torbay, site="South Devon and Torbay")
    assert not own.second_hand
    evidence = "Evidence from Sweden shows that admissions fell by 20% after the change."
    assert extract_outcomes(evidence, site="Kent")[0].second_hand


# --- non-figures ----------------------------------------------------------------------------------------


def test_citation_markers_are_not_figures() -> None:
    # seed 002 L116: "per year. 11,12 The programme…"
    text = (
        "Funding ranged from around £500,000 to £8m per vanguard site per year. 11,12 The programme gave sites "
        "flexibility as to how they spent this money. They learned what works and how. 15,16"
    )
    found = figures(text)
    assert found == ["£500,000", "£8m"]
    assert {o.kind for o in extract_outcomes(text)} == {"activity"}  # funding received, not savings


def test_numbering_dates_times_and_scales_are_not_figures() -> None:
    # seed 001 L101: paragraph number before a count.
    assert figures("- 1.13. 14 vanguards are already developing new approaches to extended access.") == ["14"]
    # seed 004 L2135: a rating scale on the Hebburn postcard.
    assert figures("Strongly disagree 1 2 3 4 5 6 7 8 9 10 *Strongly agree*") == []
    # seed 003 L3078: "24/7" and clock times; seed 003 L3168: "8am-8pm, 7 days".
    assert (
        figures("Currently operational up to 8pm seven days a week, the next step is to take it to 24/7")
        == []
    )
    assert figures("by maintaining a presence in A&E and AMU, 8am-8pm, 7 days") == []
    # seed 004 L2226: a section heading; seed 003 L129: a phone number; a date and a year.
    assert figures("35 Southend on Sea Pioneer Programme – Profile") == []
    assert figures("For more information contact 01296 382876.") == []
    assert figures("On 31 December 2014 the board met in 2015/16 planning.") == []
    # seed 004 L2318: a two-hour response is a descriptor, not a result.
    assert figures("This leads to an assessment and home visit within 2 hours and a 2-hour response.") == []


def test_broken_thousands_are_repaired() -> None:
    # seed 003 L1583 "287, 594" and L3072 "c.13, 000" as the converter left them.
    assert figures("The vanguard covers a population of 287, 594 people.") == ["287,594"]


# --- recall on the gold interventions --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_outcomes():
    """bench/bench_outcomes.py, the measurement against the gold set (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_outcomes", REPO / "bench" / "bench_outcomes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not GOLD.exists(), reason="the shared gold set (../shared/eval) is not beside this checkout"
)
def test_figure_recall_on_gold_interventions_stays_above_the_floor(bench_outcomes) -> None:
    # The numbers themselves (recall, results not in gold) are printed by `python bench/bench_outcomes.py`;
    # this only fails when extraction stops finding most of the figures the gold records name.
    measured = bench_outcomes.measure(GOLD, SEEDS)
    assert measured.gold_total > 0
    assert measured.recall >= 0.8, measured.misses


def test_measures_match_the_taxonomy_and_reference_sections_yield_nothing() -> None:
    # seed 000 L284 (North East Hampshire and Farnham): admissions for ambulatory care-sensitive conditions.
    text = (
        "The largest reductions came for ambulatory care-sensitive conditions – emergency admissions for these "
        "conditions fell by almost 10 per cent."
    )
    [outcome] = extract_outcomes(text, site="North East Hampshire and Farnham")
    assert (outcome.figure, outcome.kind, outcome.direction) == ("10 per cent", "result", "decrease")
    assert outcome.measure in {"avoidable-admissions", "emergency-admissions"}
    # seed 002 L553: a reference entry's volume and pages are not figures.
    assert extract_outcomes("BMJ Qual Saf. 2016;25:716–25.", section_kind="references") == []
