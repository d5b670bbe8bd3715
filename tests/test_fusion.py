"""Pure ranking functions, tested without a model."""

from __future__ import annotations

import numpy as np
import pytest

from search.fusion import (
    collapse_near_duplicates,
    fuse,
    max_normalise,
    range_normalise,
    top_candidates,
    with_neighbour_context,
)


def test_normalisation():
    assert max_normalise({1: 2.0, 2: 4.0}) == {1: 0.5, 2: 1.0}
    assert max_normalise({1: 0.0}) == {1: 0.0}
    assert range_normalise({1: 0.2, 2: 0.6}) == {1: 0.0, 2: 1.0}
    assert range_normalise({}) == {}


def test_fuse_rewards_agreement_and_is_stable():
    ranked = fuse({1: 10.0, 2: 5.0}, {2: 0.9, 3: 0.5, 1: 0.4}, lexical_weight=0.5)
    # Lexical scores over the best (1: 1.0, 2: 0.5); dense stretched over 0.4..0.9 (2: 1.0, 3: 0.2, 1: 0.0).
    # 2 is found by both and wins (0.5*0.5 + 0.5*1.0); 1 tops only the lexical list and is last by meaning
    # (0.5*1.0); 3 is a weak dense-only hit (0.5*0.2).
    assert [key for key, _ in ranked] == [2, 1, 3]
    assert [score for _, score in ranked] == pytest.approx([0.75, 0.5, 0.1])
    assert fuse({1: 1.0, 2: 1.0}, {}, lexical_weight=1.0) == [(1, 1.0), (2, 1.0)]


def test_fuse_weights_change_the_order():
    lexical, dense = {1: 10.0, 2: 1.0}, {1: 0.1, 2: 0.9}
    assert fuse(lexical, dense, lexical_weight=0.9)[0][0] == 1
    assert fuse(lexical, dense, lexical_weight=0.1)[0][0] == 2


def test_top_candidates_drops_zero_scores():
    ids = np.array([10, 11, 12, 13])
    scores = np.array([0.0, 3.0, 1.0, 2.0], dtype=np.float32)
    assert top_candidates(ids, scores, 3) == {11: 3.0, 13: 2.0, 12: 1.0}


def test_near_duplicates_collapse_to_the_first():
    base = "The care home team reduced emergency admissions by fourteen per cent over the first year of work"
    texts = {
        1: base,
        2: base + " in Gateshead.",
        3: "Social prescribing connected lonely people to community groups.",
    }
    assert collapse_near_duplicates([2, 1, 3], texts) == [2, 3]


def test_a_passage_gains_from_a_neighbour_in_its_own_document() -> None:
    ranked = [(10, 0.9), (11, 0.5), (20, 0.6), (21, 0.55), (30, 0.4)]
    document = {10: "a", 11: "a", 20: "b", 21: "c", 30: "d"}
    rescored, gains = with_neighbour_context(ranked, lambda x, y: document[x] == document[y], weight=0.2)
    assert gains == {10: pytest.approx(0.1), 11: pytest.approx(0.18)}  # 20 and 21 are in different documents
    assert [key for key, _ in rescored] == [10, 11, 20, 21, 30]
    assert dict(rescored)[11] == pytest.approx(0.68) and dict(rescored)[30] == 0.4


def test_no_neighbour_weight_changes_nothing() -> None:
    ranked = [(1, 0.5), (2, 0.4)]
    assert with_neighbour_context(ranked, lambda x, y: True, weight=0.0) == (ranked, {})
