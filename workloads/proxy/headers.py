"""Which headers cross the invoke proxy in each direction, and the ones it states itself.

A workload's answer is served on the console's origin, so anything in it that acts on the
origin rather than on the page (cookies, policies, CORS grants, site data) is dropped, and
every answer carries a sandbox policy that gives the page an opaque origin: its scripts
run, but never as the console (no cookies, no same-origin requests with the viewer's
session, no storage of the console's).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from console.throttle import client_ip

# No allow-same-origin: with it, a script on the page would run as the console again.
SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-popups"

# One connection's business, not the message's (RFC 9110 §7.6.1, RFC 9112 §9.6).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        # RFC 2616's misspelling, still refused by wsgiref's start_response.
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Berth's credentials are for Berth: the workload never sees the viewer's session or key.
CREDENTIALS = frozenset({"authorization", "cookie", "x-csrftoken"})
# The client's claims about the path the request took; the proxy states its own instead.
CLIENT_FORWARDING = frozenset({"forwarded", "x-real-ip"})
FORWARDING_PREFIX = "x-forwarded-"
# Written by the proxy's HTTP client from the upstream address and the body it sends; the
# client's Expect was answered by Berth's own server already.
REQUEST_FRAMING = frozenset({"host", "content-length", "expect"})

# Fields that act on the console's origin rather than on the page: cookies, site data and
# transport policies (HSTS and Alt-Svc belong to whoever runs the host), reporting
# endpoints that would collect reports about console pages, service-worker scope, and
# navigation by header (Refresh is not part of HTTP; a page can still use <meta refresh>).
ORIGIN_POWERS = frozenset(
    {
        "set-cookie",
        "set-cookie2",
        "clear-site-data",
        "strict-transport-security",
        "alt-svc",
        "nel",
        "report-to",
        "reporting-endpoints",
        "service-worker-allowed",
        "origin-agent-cluster",
        "expect-ct",
        "public-key-pins",
        "public-key-pins-report-only",
        "refresh",
    }
)
ORIGIN_POWER_PREFIXES = ("content-security-policy", "access-control-")
# The proxy frames the body itself (the validated length is set by the exchange), the
# WSGI server writes Date and Server, and the sandbox sets nosniff.
RESPONSE_FRAMING = frozenset({"content-length", "date", "server", "x-content-type-options"})
# RFC 9110 §5.6.2.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def connection_listed(values: Iterable[str]) -> set[str]:
    """Field names listed in Connection headers: hop-by-hop by declaration (RFC 9110 §7.6.1)."""
    return {token.strip().lower() for value in values for token in value.split(",")} - {""}


def upstream_request_headers(request: HttpRequest, prefix: str) -> dict[str, str]:
    """The client's headers minus hop-by-hop fields, credentials and forwarding claims, plus
    the proxy's own X-Forwarded-* and Forwarded. ``prefix`` is the invoke path up to the
    workload's own path, which the workload needs to build links back through the proxy.

    Repeated request fields arrive already joined with commas by the WSGI server (PEP 3333,
    as RFC 9110 §5.3 allows), so one value per name loses nothing here."""
    listed = connection_listed([request.headers.get("Connection", "")])
    headers = {
        name: value
        for name, value in request.headers.items()
        if (lowered := name.lower()) not in HOP_BY_HOP
        and lowered not in CREDENTIALS
        and lowered not in CLIENT_FORWARDING
        and lowered not in REQUEST_FRAMING
        and not lowered.startswith(FORWARDING_PREFIX)
        and lowered not in listed
    }
    client = client_ip(request)
    host = request.get_host()
    scheme = request.scheme or "http"
    headers["X-Forwarded-For"] = client
    headers["X-Forwarded-Host"] = host
    headers["X-Forwarded-Proto"] = scheme
    headers["X-Forwarded-Prefix"] = prefix
    headers["Forwarded"] = f'for={_forwarded_node(client)};host="{_quoted(host)}";proto={scheme}'
    # One request per connection: the proxy never reuses an upstream connection.
    headers["Connection"] = "close"
    return headers


def downstream_response_headers(fields: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream's response fields that may reach the browser, one line per name.

    Django's response holds one value per name, so repeated fields are joined with ", ",
    which RFC 9110 §5.3 makes equivalent for every list-based field. Set-Cookie, the one
    field that cannot be joined, is dropped anyway. A repeated singleton field is invalid
    from the upstream already; joined, it stays as invalid, never silently the last one.
    Obsolete line folding is replaced by spaces (RFC 9112 §5.2). Raises ValueError for a
    field name that is not a token, which no WSGI server would send on."""
    fields = list(fields)
    listed = connection_listed(value for name, value in fields if name.lower() == "connection")
    joined: dict[str, tuple[str, list[str]]] = {}
    for name, value in fields:
        if not _TOKEN.fullmatch(name):
            raise ValueError("a response field name that is not a token")
        lowered = name.lower()
        if (
            lowered in HOP_BY_HOP
            or lowered in listed
            or lowered in ORIGIN_POWERS
            or lowered in RESPONSE_FRAMING
            or lowered.startswith(ORIGIN_POWER_PREFIXES)
        ):
            continue
        unfolded = " ".join(value.replace("\r", "\n").split("\n")).strip()
        joined.setdefault(lowered, (name, []))[1].append(unfolded)
    return [(name, ", ".join(values)) for name, values in joined.values()]


def sandbox(response: HttpResponseBase) -> None:
    """Mark a proxied answer so that no browser runs it as the console. Django's CSP
    middleware leaves a policy the view set alone, so this one is the only one sent."""
    response["Content-Security-Policy"] = SANDBOX_POLICY
    response["X-Content-Type-Options"] = "nosniff"


def _forwarded_node(address: str) -> str:
    # RFC 7239 §6: IPv6 addresses are bracketed and quoted; anything unparseable is hidden.
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return '"_unknown"' if address else "unknown"
    return f'"[{parsed}]"' if parsed.version == 6 else str(parsed)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
