"""The one list helper: offset/limit bounds, ``search``, ``orderBy`` and the envelope."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, TypeVar

from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from console.wire import WireModel

ModelT = TypeVar("ModelT", bound=models.Model)
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# Far past the end of any list, and well inside every database's integer range (an offset
# beyond 64 bits is not even a number the database can read).
MAX_OFFSET = 2**31 - 1


class ListQuery(WireModel):
    """Query parameters every list endpoint takes; subclasses add filters and orderings.

    ``ORDER_FIELDS`` maps the wire names accepted by ``orderBy`` to model fields.
    """

    ORDER_FIELDS: ClassVar[Mapping[str, str]] = {"createdAt": "created_at"}
    DEFAULT_ORDER: ClassVar[str] = "-createdAt"
    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _document_order(schema, cls))

    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    search: str | None = None
    order_by: str | None = None

    @field_validator("order_by", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # ``?orderBy=`` from a form or a generated client means "no preference".
        return None if value == "" else value

    @field_validator("order_by")
    @classmethod
    def _known_order(cls, value: str | None) -> str | None:
        if value is not None and value.removeprefix("-") not in cls.ORDER_FIELDS:
            raise PydanticCustomError(
                "enum",
                "Order by one of: {fields} (prefix '-' for descending).",
                {"fields": ", ".join(cls.ORDER_FIELDS)},
            )
        return value


def searched[ModelT: models.Model](
    queryset: QuerySet[ModelT], term: str | None
) -> QuerySet[ModelT]:
    """Name, description, or the start of the id; case-insensitive."""
    term = (term or "").strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(name__icontains=term) | Q(description__icontains=term) | Q(id__startswith=term.lower())
    )


def _document_order(schema: dict[str, Any], cls: Any) -> None:
    """Each list documents exactly the ``orderBy`` values it accepts."""
    fields = list(getattr(cls, "ORDER_FIELDS", {}))
    order_by = schema.get("properties", {}).get("orderBy")
    if order_by is not None and fields:
        order_by["enum"] = [*fields, *(f"-{field}" for field in fields), None]
        order_by.pop("anyOf", None)


def ordered[ModelT: models.Model](queryset: QuerySet[ModelT], query: ListQuery) -> QuerySet[ModelT]:
    """Apply ``orderBy`` (validated by the query schema); ``id`` breaks ties stably."""
    key = query.order_by or query.DEFAULT_ORDER
    prefix = "-" if key.startswith("-") else ""
    field = query.ORDER_FIELDS[key.removeprefix("-")]
    return queryset.order_by(f"{prefix}{field}", f"{prefix}id")


def envelope[RowT](
    request: HttpRequest,
    rows: QuerySet[Any, RowT] | Sequence[RowT],
    query: ListQuery,
    serialize: Callable[[Sequence[RowT]], list[Any]],
) -> dict[str, Any]:
    """One page of ``rows`` in the list envelope, with absolute next/previous links.

    A queryset is counted and sliced in the database (two queries whatever its size).
    """
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    page = list(rows[query.offset : query.offset + query.limit])
    next_offset = query.offset + query.limit
    return {
        "count": len(page),
        "totalCount": total,
        "next": _page_url(request, next_offset, query.limit) if next_offset < total else None,
        "previous": (
            _page_url(request, max(query.offset - query.limit, 0), query.limit)
            if query.offset > 0
            else None
        ),
        "data": serialize(page),
    }


def _page_url(request: HttpRequest, offset: int, limit: int) -> str:
    params = request.GET.copy()
    params["offset"] = str(offset)
    params["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
