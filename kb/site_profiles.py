"""Storage of site characteristics: those a document states (replaced when it is re-ingested), those a curator
sets (kept through any re-ingest), and each site's profile read from them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from kb.errors import InvalidInput, NotFound
from kb.store.models import SiteCharacteristic, SiteRecord, utcnow

CHARACTERISTICS = {
    "population": "Population",
    "rurality": "Rurality",
    "deprivation": "Deprivation",
    "age_profile": "Age profile",
    "gp_practices": "GP practices",
    "footprint": "Organisations",
}
CATEGORIES = {  # the values a curator may choose for a category; numbers and footprints are free text
    "rurality": ("rural", "dispersed", "mixed urban and rural", "urban"),
    "deprivation": ("high", "mixed", "low"),
}
MAX_VALUE = 200


def replace_extracted(*, session: Session, document_id: int, rows: list[SiteCharacteristic]) -> None:
    """Store what a document states, in the caller's transaction, replacing what an earlier version of it stated.
    What a curator set is never touched."""
    session.exec(  # type: ignore[call-overload]
        delete(SiteCharacteristic).where(
            SiteCharacteristic.document_id == document_id,  # type: ignore[arg-type]
            col(SiteCharacteristic.provenance) != "curator",
        )
    )
    for row in rows:
        row.document_id = document_id
        session.add(row)


def _rank(row: SiteCharacteristic) -> tuple:
    # a curator's word first, then the most confident statement, then the earliest stored
    return (row.provenance != "curator", -row.confidence, row.id or 0)


def characteristics_for_site(*, session: Session, site_id: str) -> list[SiteCharacteristic]:
    """Every stored statement about a site, the one in force for each characteristic first."""
    rows = session.exec(select(SiteCharacteristic).where(SiteCharacteristic.site_id == site_id)).all()
    order = list(CHARACTERISTICS)
    return sorted(rows, key=lambda r: (order.index(r.name) if r.name in order else len(order), *_rank(r)))


@dataclass(frozen=True)
class Fact:
    """The statement in force for one characteristic, detached from the database (held in memory by the catalogue)."""

    value: str
    number: float | None
    as_written: str
    quote: str
    confidence: float
    provenance: str
    document_id: int | None
    passage_id: int | None


def profiles(*, session: Session) -> dict[str, dict[str, Fact]]:
    """For every site with characteristics: characteristic name -> the statement in force (a curator's, else
    the most confident). A curator's empty value clears the characteristic."""
    best: dict[str, dict[str, Fact]] = {}
    for row in sorted(session.exec(select(SiteCharacteristic)).all(), key=_rank):
        fact = Fact(
            row.value,
            row.number,
            row.as_written,
            row.quote,
            row.confidence,
            row.provenance,
            row.document_id,
            row.passage_id,
        )
        best.setdefault(row.site_id, {}).setdefault(row.name, fact)
    return {site: {k: v for k, v in found.items() if v.value} for site, found in best.items()}


def parse_number(value: str) -> float | None:
    """'365,000', '365000', '1.5 million' -> a number; None for anything else."""
    text = value.strip().lower().replace(",", "")
    scale = 1.0
    for word, factor in (("million", 1_000_000), ("m", 1_000_000)):
        if text.endswith(word):
            text, scale = text.removesuffix(word).strip(), factor
            break
    try:
        return float(text) * scale
    except ValueError:
        return None


def set_characteristic(
    *, session: Session, site_id: str, name: str, value: str, user_id: int | None
) -> SiteCharacteristic:
    """A curator's value for one characteristic of a site (an empty value clears it), kept beside the statements
    it overrides, with the source of the statement it replaces. Raises NotFound or InvalidInput."""
    if session.get(SiteRecord, site_id) is None:
        raise NotFound(f"No site with id {site_id!r}.")
    if name not in CHARACTERISTICS:
        raise InvalidInput(f"Unknown characteristic {name!r}; one of {', '.join(CHARACTERISTICS)}.")
    value = " ".join(value.split())[:MAX_VALUE]
    number = None
    if value and name in ("population", "gp_practices"):
        number = parse_number(value)
        if number is None or number < 0:
            raise InvalidInput(f"{CHARACTERISTICS[name]} must be a number, for example 365,000.")
        value = str(int(number))
    if value and name in CATEGORIES and value not in CATEGORIES[name]:
        raise InvalidInput(f"{CHARACTERISTICS[name]} must be one of: {', '.join(CATEGORIES[name])}.")
    statements = [r for r in characteristics_for_site(session=session, site_id=site_id) if r.name == name]
    row = next((r for r in statements if r.provenance == "curator"), None)
    source = next((r for r in statements if r.provenance != "curator"), None)
    if row is None:
        row = SiteCharacteristic(
            site_id=site_id, name=name, value=value, provenance="curator", confidence=1.0
        )
        if source is not None:
            for field in ("document_id", "passage_id", "char_start", "char_end", "quote", "as_written"):
                setattr(row, field, getattr(source, field))
    row.value, row.number, row.edited_by, row.updated_at = value, number, user_id, utcnow()
    session.add(row)
    return row
