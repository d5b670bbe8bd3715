"""Outcomes: the figures a span reports, each with its measure, direction, period and kind (result, target, …)."""

from ingest.outcomes.extract import Outcome, classify_sentence, extract_outcomes

__all__ = ["Outcome", "classify_sentence", "extract_outcomes"]
