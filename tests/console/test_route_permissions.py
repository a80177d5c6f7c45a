"""Every route declares who may use it; a new route without a decision fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from console.api import api

# Django's admin guards itself (staff only, its own login); nothing of ours runs there.
SELF_GUARDED_NAMESPACES = {"admin"}


def walk(
    patterns: list[Any], namespace: str = "", prefix: str = ""
) -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield namespace, prefix + str(pattern.pattern), pattern.callback


def api_operations() -> Iterator[tuple[str, Any]]:
    """The operations as served: ninja binds auth to copies of the routers' operations."""
    for router in api._get_bound_routers():
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield f"{method} {path}", operation


def test_every_console_route_declares_its_permission() -> None:
    undecided = [
        route
        for namespace, route, callback in walk(get_resolver().url_patterns)
        if namespace not in SELF_GUARDED_NAMESPACES
        and namespace != "api"
        and not hasattr(callback, "permission_rule")
    ]
    assert undecided == []


def test_every_api_operation_declares_its_permission_and_requires_auth() -> None:
    operations = list(api_operations())
    assert len(operations) >= 16
    undecided = [name for name, op in operations if not hasattr(op.view_func, "permission_rule")]
    unauthenticated = [name for name, op in operations if not op.auth_callbacks]
    assert undecided == []
    assert unauthenticated == []


def test_the_walk_sees_the_api_and_the_console() -> None:
    routes = {route for _, route, _ in walk(get_resolver().url_patterns)}
    assert "teams/" in routes
    assert any(route.startswith("api/v2/") for route in routes)
