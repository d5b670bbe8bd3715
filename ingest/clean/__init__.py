"""Cleaning: raw converted text -> clean paragraphs, by small named rules for each kind of conversion damage."""

from ingest.clean.common import Lines, Log, Rule
from ingest.clean.rules import RULES, CleanedText, clean_text

__all__ = ["RULES", "CleanedText", "Lines", "Log", "Rule", "clean_text"]
