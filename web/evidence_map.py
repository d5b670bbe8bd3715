"""The evidence map: interventions counted by row term (type or care model) × outcome measure, split by evidence level."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from kb.taxonomy import Taxonomy, Term
from search.catalogue import Record

ROW_DIMENSIONS = {"intervention_type": "Intervention type", "care_model": "Care model"}
COLUMN_DIMENSION = "outcome_measure"


@dataclass
class Cell:
    row: str
    column: str
    count: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    url: str = ""

    def levels(self) -> list[tuple[str, int]]:
        """(evidence level, count), strongest evidence first."""
        return sorted(self.by_level.items(), key=lambda item: item[0], reverse=True)


@dataclass
class EvidenceMap:
    row_dimension: str
    rows: list[Term]
    columns: list[Term]
    cells: dict[tuple[str, str], Cell]
    total: int  # interventions considered

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.get((row, column)) or Cell(row, column)


def catalogue_url(row_dimension: str, row: str, column: str) -> str:
    """The filtered catalogue listing exactly the interventions counted in one cell."""
    return "/catalogue?" + urlencode({row_dimension: row, COLUMN_DIMENSION: column})


def build_evidence_map(records: Iterable[Record], *, taxonomy: Taxonomy, rows: str) -> EvidenceMap:
    """Count each record once in every (row term, outcome measure) cell whose two tags it carries, using the
    same tag confidence threshold as the catalogue filters (Record.values), so a cell's count equals the total
    its catalogue link lists. Rows are every term of the row dimension, so a type with no evidence shows as a
    gap; columns are the outcome measures that occur at least once. Raises KeyError for an unknown dimension."""
    if rows not in ROW_DIMENSIONS:
        raise KeyError(f"rows must be one of {', '.join(ROW_DIMENSIONS)}")
    row_terms = {t.id: t for t in taxonomy.dimensions[rows]}
    column_terms = {t.id: t for t in taxonomy.dimensions[COLUMN_DIMENSION]}
    cells: dict[tuple[str, str], Cell] = {}
    seen_columns: set[str] = set()
    total = 0
    for record in records:
        total += 1
        measures = record.values(COLUMN_DIMENSION) & column_terms.keys()
        seen_columns |= measures
        for row in record.values(rows) & row_terms.keys():
            for column in measures:
                cell = cells.setdefault(
                    (row, column), Cell(row, column, url=catalogue_url(rows, row, column))
                )
                cell.count += 1
                cell.by_level[record.row.evidence_level] += 1
    return EvidenceMap(
        row_dimension=rows,
        rows=list(row_terms.values()),
        columns=[t for t in column_terms.values() if t.id in seen_columns],  # taxonomy order
        cells=cells,
        total=total,
    )
