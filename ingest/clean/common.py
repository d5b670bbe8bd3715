"""What every cleaning rule shares: the removal log, the rule signature and the cross-rule patterns."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Log:
    """What the rules took out of the body, so no fact is silently lost."""

    contacts: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def drop(self, rule: str, text: str) -> None:
        if text.strip():
            self.dropped.append((rule, text))


Lines = list[str]
Rule = Callable[[Lines, Log], Lines]

TERMINAL_RE = re.compile(r"[.!?:;][\"')\]]*$")


def is_tab_row(line: str) -> bool:
    """Whether a raw converted line is a flattened table row: the parsers join a row's cells with tabs, and a
    merged cell leaves the first one empty (a leading tab). `convert_tables` turns each into a " | " row, which
    every later stage reads with `ingest.text.is_table_row`; a raw " | " line is left alone until then, since
    before conversion it is as often a running footer ("Report title | Page 3") as a table."""
    return "\t" in line
