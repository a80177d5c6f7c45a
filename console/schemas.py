"""Response shapes shared by every router: errors and the list envelope."""

from __future__ import annotations

from typing import TypeVar

from ninja import Schema
from pydantic import Field

T = TypeVar("T")


class ProblemOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(Schema):
    """Every 4xx body. ``detail`` is a list of problems for 422, a sentence otherwise."""

    detail: str | list[ProblemOut]
    code: str | None = Field(default=None, description="Stable snake_case reason of a 409.")


class Envelope[T](Schema):
    count: int = Field(description="Items on this page.")
    totalCount: int = Field(description="All items that match.")
    next: str | None
    previous: str | None
    data: list[T]


# Every route may answer with these, each with an ErrorOut body (413: a body over the
# limits, console/api.py and console/middleware.py).
ERROR_RESPONSES: dict[int, type[ErrorOut]] = dict.fromkeys(
    (401, 403, 404, 409, 412, 413, 422, 429), ErrorOut
)
