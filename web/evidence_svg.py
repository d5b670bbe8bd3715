"""The evidence map drawn as server-rendered SVG: a bubble per cell sized by the number of interventions and
coloured by the strongest evidence level among them, each a link to the filtered catalogue. No JavaScript."""

from __future__ import annotations

import math
from dataclasses import dataclass

from web.evidence_map import EvidenceMap

CELL = 46  # px between bubble centres
ROW_LABEL_WIDTH = 330  # the longest intervention type label at 13px, with room
COLUMN_LABEL_HEIGHT = 150
MIN_RADIUS, MAX_RADIUS = 5.0, 20.0
# Strongest evidence level -> fill; a dark outline on every bubble keeps pale ones visible (WCAG 1.4.11).
LEVEL_COLOURS = {
    "0": "#e8edee",
    "1": "#aed0ee",
    "2": "#5b9bd5",
    "3": "#005eb8",
    "4": "#003087",
    "5": "#231f20",
}
OUTLINE = "#212b32"


@dataclass(frozen=True)
class Bubble:
    cx: float
    cy: float
    r: float
    fill: str
    url: str
    label: str  # what a screen reader and a tooltip say


@dataclass(frozen=True)
class Axis:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class MapPicture:
    width: int
    height: int
    rows: list[Axis]
    columns: list[Axis]
    gridlines: list[tuple[float, float, float, float]]
    bubbles: list[Bubble]
    legend_sizes: list[tuple[int, float]]  # (interventions, radius) shown in the legend
    legend_colours: list[tuple[str, str, str]]  # (level, label, fill)


def radius(count: int, largest: int) -> float:
    """Bubble radius with area proportional to the count (the largest cell gets MAX_RADIUS)."""
    if count <= 0 or largest <= 0:
        return 0.0
    return round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(count / largest), 1)


def strongest(levels: list[tuple[str, int]]) -> str:
    known = [level for level, count in levels if count and level in LEVEL_COLOURS]
    return max(known, key=int) if known else "0"


def draw(grid: EvidenceMap, *, level_labels: dict[str, str], row_label: str) -> MapPicture:
    """The picture of an evidence map: positions, sizes, colours and links, for the template to write as SVG."""
    largest = max((cell.count for cell in grid.cells.values()), default=0)
    left, top = ROW_LABEL_WIDTH, COLUMN_LABEL_HEIGHT
    width = left + CELL * max(len(grid.columns), 1) + 10
    height = top + CELL * max(len(grid.rows), 1) + 10
    rows = [Axis(left - 10, top + CELL * (i + 0.5), term.label) for i, term in enumerate(grid.rows)]
    columns = [Axis(left + CELL * (j + 0.5), top - 10, term.label) for j, term in enumerate(grid.columns)]
    gridlines = [
        (left, top + CELL * (i + 0.5), width - 10, top + CELL * (i + 0.5)) for i in range(len(grid.rows))
    ]
    gridlines += [
        (left + CELL * (j + 0.5), top, left + CELL * (j + 0.5), height - 10) for j in range(len(grid.columns))
    ]
    bubbles = []
    for i, row in enumerate(grid.rows):
        for j, column in enumerate(grid.columns):
            cell = grid.cell(row.id, column.id)
            if not cell.count:
                continue
            level = strongest(cell.levels())
            noun = "intervention" if cell.count == 1 else "interventions"
            bubbles.append(
                Bubble(
                    cx=left + CELL * (j + 0.5),
                    cy=top + CELL * (i + 0.5),
                    r=radius(cell.count, largest),
                    fill=LEVEL_COLOURS[level],
                    url=cell.url,
                    label=f"{cell.count} {noun}: {row.label} and {column.label}; strongest evidence level {level}"
                    f" ({level_labels.get(level, '')})",
                )
            )
    sizes = sorted({1, max(1, largest // 2), largest} - {0}) if largest else []
    return MapPicture(
        width=width,
        height=height,
        rows=rows,
        columns=columns,
        gridlines=gridlines,
        bubbles=bubbles,
        legend_sizes=[(n, radius(n, largest)) for n in sizes],
        legend_colours=[(level, level_labels.get(level, ""), fill) for level, fill in LEVEL_COLOURS.items()],
    )
