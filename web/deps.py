"""Dependency aliases, declared once so route signatures read as typed parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session

from kb.settings import Settings
from search.service import SearchService


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_search(request: Request) -> SearchService:
    return request.app.state.search


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


# The largest id a table holds (PostgreSQL's integer): a larger one in an address is refused before any query,
# since SQLite cannot take a number past 2**63 and PostgreSQL refuses one past this.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive whole number")]
# A site's id is a slug from corpus/vocabulary.yaml; anything else (a NUL byte, which PostgreSQL refuses in
# any text) is refused before the lookup.
SiteIdPath = Annotated[
    str, Path(max_length=100, pattern=r"^[a-z0-9-]+$", description="a site's id, from /api/sites")
]
# Text a query compares with stored text: PostgreSQL refuses a NUL byte in any text, and none is ever stored.
NO_NUL = r"^[^\x00]*$"

SessionDep = Annotated[Session, Depends(get_session)]
SearchDep = Annotated[SearchService, Depends(get_search)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
