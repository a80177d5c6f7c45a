"""The client's request body as a stream, never held whole in memory.

``request.body`` would read everything first, and Django caps that at
DATA_UPLOAD_MAX_MEMORY_SIZE; the proxy instead passes pieces on as they arrive. The upload
limit is BERTH_MAX_REQUEST_BYTES: a declared length above it was refused with 413 by
console.middleware.RequestLimitsMiddleware before the view ran; a chunked body (which the
WSGI server must have decoded, ``wsgi.input_terminated``) is counted here.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest

from workloads.proxy.upstream import CHUNK


class BodyTooLarge(Exception):
    """A chunked body grew past BERTH_MAX_REQUEST_BYTES: 413."""


class LengthRequired(Exception):
    """A chunked body the WSGI server did not decode for us: 411, never silently dropped."""


class BodyCutShort(Exception):
    """The client sent fewer bytes than its Content-Length said: 400."""


def request_body(request: HttpRequest) -> tuple[Iterator[bytes] | None, int | None]:
    """The body's pieces and its length; (None, None) when there is no body."""
    declared = request.META.get("CONTENT_LENGTH", "")
    if declared.isdigit():
        return _declared(request, int(declared)), int(declared)
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and request.META.get("wsgi.input_terminated"):
        return _until_end(request), None
    if chunked:
        # Django's development server passes the chunks through undecoded.
        raise LengthRequired("This server needs a Content-Length on request bodies.")
    return None, None


def _declared(request: HttpRequest, length: int) -> Iterator[bytes]:
    left = length
    while left:
        piece = request.read(min(CHUNK, left))
        if not piece:
            raise BodyCutShort(f"the request body ended {left} bytes early")
        left -= len(piece)
        yield piece


def _until_end(request: HttpRequest) -> Iterator[bytes]:
    # Django sizes its stream by CONTENT_LENGTH, which a chunked request lacks: read the
    # server's decoded input itself, which ends where the body does.
    stream = request.META["wsgi.input"]
    total = 0
    while piece := stream.read(CHUNK):
        total += len(piece)
        if total > settings.BERTH_MAX_REQUEST_BYTES:
            raise BodyTooLarge(
                f"The request body is over the limit of {settings.BERTH_MAX_REQUEST_BYTES} bytes."
            )
        yield piece
