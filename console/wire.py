"""The wire conventions shared by every request and response body: camelCase, no extras."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter, WithJsonSchema
from pydantic.alias_generators import to_camel

from console.errors import Problem


class WireModel(BaseModel):
    """A typed body: snake_case in Python, camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def problems_from_pydantic(
    error: pydantic.ValidationError,
    *prefix: str | int,
    union_tags: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Turn pydantic's errors into Problems with JSON paths under ``prefix``.

    Pydantic puts the tag of a discriminated union into the path (``dockerfile.provided.path``);
    that tag is not part of the body the caller sent, so parts in ``union_tags`` are dropped.
    """
    problems = []
    for err in error.errors(include_url=False):
        loc = [part for part in err["loc"] if part not in union_tags]
        problems.append(Problem(loc=(*prefix, *loc), msg=err["msg"], type=err["type"]))
    return problems


def strict_json_validate(adapter: pydantic.TypeAdapter[Any], value: Any) -> Any:
    """Validate a JSON-shaped value strictly: ``"8080"`` is not a port and ``1`` is not true.

    Strict mode on JSON input accepts objects for nested models, which strict mode on
    Python dicts does not, so the value goes through its JSON form.
    """
    return adapter.validate_json(json.dumps(value), strict=True)


class DomainCheckedBody(WireModel):
    """A request body that the edge passes on whole, unknown fields included.

    The domain validators check it all together and report every problem at once
    (unknown fields among them); the document still says that no other field is allowed.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    def sent(self) -> dict[str, Any]:
        """The fields the caller actually sent, under their wire names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def documented_as(type_: Any) -> Any:
    """A stored JSON value rendered as is, documented as ``type_``."""
    return Annotated[dict[str, Any], WithJsonSchema(_inline_schema(type_))]


def _inline_schema(type_: Any) -> dict[str, Any]:
    """``type_``'s JSON schema with its definitions written in place.

    A self-contained schema can sit inside another model's schema without references
    that the outer document would have to resolve. Berth's bodies are not recursive.
    """
    schema = TypeAdapter(type_).json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            if "propertyName" in node and "mapping" in node:
                # A discriminator's mapping names definitions, which are now inline; the
                # property name alone still tells readers how the union is decided.
                return {"propertyName": node["propertyName"]}
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


def checked_by_domain(type_: Any) -> Any:
    """An input field that the edge accepts as any JSON value but documents as ``type_``.

    The domain validators check such fields together with the rest of the body so that a
    caller learns of every problem at once; checking part of the body here first would
    hide the others. ``type_``'s own schema (a component of the API document) tells
    callers what is expected.
    """
    return Annotated[Any, WithJsonSchema(_inline_schema(type_))]
