"""The wire conventions shared by every request and response body: camelCase, no extras."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from console.errors import Problem


class WireModel(BaseModel):
    """A typed body: snake_case in Python, camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _no_nul_characters(cls, data: Any, handler: Any) -> Any:
        nul_at = first_nul(data)
        if nul_at is not None:
            raise pydantic.ValidationError.from_exception_data(
                cls.__name__,
                [InitErrorDetails(type=NUL_ERROR, loc=nul_at, input=data)],
            )
        return handler(data)


# PostgreSQL cannot store the NUL character in text; no name, path or value needs it.
NUL_ERROR = PydanticCustomError("nul_character", "Text must not contain NUL characters.")


def first_nul(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where the first string holding a NUL character is, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return (*path, key)
        found = first_nul(item, (*path, key))
        if found is not None:
            return found
    return None


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
    nul_at = first_nul(value)
    if nul_at is not None:
        raise pydantic.ValidationError.from_exception_data(
            "Value", [InitErrorDetails(type=NUL_ERROR, loc=nul_at, input=value)]
        )
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
