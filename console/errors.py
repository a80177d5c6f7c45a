"""The one tree of domain errors.

Services raise these; the API's exception handlers and the console's view helper turn
them into responses. Each maps to exactly one HTTP status, so every interface answers
the same situation the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


class BerthError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(BerthError):
    """The object does not exist, or the caller may not see it (same answer for both)."""

    status_code = 404

    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__(detail)


class Forbidden(BerthError):
    """The caller can see the object but may not do this to it."""

    status_code = 403

    def __init__(self, detail: str = "You do not have permission to do this.") -> None:
        super().__init__(detail)


class Conflict(BerthError):
    """The object's state forbids the operation; ``code`` is stable snake_case for scripts."""

    status_code = 409

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


class PreconditionFailed(BerthError):
    status_code = 412


@dataclass(frozen=True)
class Problem:
    """One validation failure: where it is (a JSON path into the request body) and why."""

    loc: Loc
    msg: str
    type: str = "value_error"

    def within(self, *prefix: str | int) -> Problem:
        return Problem(loc=(*prefix, *self.loc), msg=self.msg, type=self.type)


class Invalid(BerthError):
    """Input breaks one or more rules. Carries every problem found, not just the first."""

    status_code = 422

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("; ".join(f"{_dotted(p.loc)}: {p.msg}" for p in self.problems))

    @classmethod
    def at(cls, *loc: str | int, msg: str, type: str = "value_error") -> Invalid:
        return cls([Problem(loc=loc, msg=msg, type=type)])


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(body)"
