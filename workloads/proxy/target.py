"""The request target sent to the workload: the client's own bytes, still encoded.

WSGI gives the path already decoded (PATH_INFO), which cannot tell ``/`` from ``%2F`` or
``?`` in a segment from ``%3F``; forwarding it would show the workload a different
request than the client sent. Servers that keep the raw target put it in the environ
(gunicorn ``RAW_URI``, uWSGI and mod_wsgi ``REQUEST_URI``; Django's development and test
servers through ``console.devserver``). Without one, the decoded path is quoted again with
only the characters that must be, which gives the same request for every ordinary path (not
for ``%2F`` and the like, and bytes that are not UTF-8 arrive as Django re-encoded them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from django.utils.encoding import repercent_broken_unicode

RAW_TARGET_KEYS = ("RAW_URI", "REQUEST_URI")
# RFC 3986 pchar beyond the unreserved characters, plus the segment separator.
PATH_SAFE = "/!$&'()*+,;=:@"
# A request line holds printable ASCII only: encode anything else the client sent raw.
_NOT_TARGET_BYTE = re.compile(rb"[^\x21-\x7e]|#")


def upstream_target(meta: Mapping[str, Any], prefix: str) -> str:
    """The target for the workload: the part of the client's target after ``prefix`` (the
    decoded path up to and including the workload id's slash), with ``/`` in front.

    ``meta`` is a Django request's META, where PATH_INFO and SCRIPT_NAME are already
    Django's decoded text (UTF-8, with bytes that are not UTF-8 percent-encoded again)."""
    path_info = str(meta.get("PATH_INFO", "")).encode("utf-8")
    marker = prefix.encode("ascii")
    rest = path_info[len(marker) :] if path_info.startswith(marker) else path_info.lstrip(b"/")
    raw = _raw_target(meta)
    if raw is not None:
        raw_path, separator, raw_query = raw.partition(b"?")
        expected = str(meta.get("SCRIPT_NAME", "")).encode("utf-8") + marker
        cut = _after_nth_slash(raw_path, expected.count(b"/"))
        # Use the raw target only if it is provably the request Django routed: the same
        # path once decoded as Django decodes it, split at the same place.
        if (
            cut is not None
            and _decoded(raw_path[:cut]) == expected
            and _decoded(raw_path[cut:]) == rest
        ):
            return _printable(b"/" + raw_path[cut:] + separator + raw_query)
    query = _wsgi_bytes(meta.get("QUERY_STRING", ""))
    quoted = quote_from_bytes(rest, safe=PATH_SAFE).encode("ascii")
    return _printable(b"/" + quoted + (b"?" + query if query else b""))


def _raw_target(meta: Mapping[str, Any]) -> bytes | None:
    for key in RAW_TARGET_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value:
            raw = _wsgi_bytes(value)
            # Absolute form (RFC 9112 §3.2.2): keep only the path and query.
            if raw[:7].lower() == b"http://" or raw[:8].lower() == b"https://":
                start = raw.find(b"/", raw.find(b"//") + 2)
                raw = raw[start:] if start >= 0 else b"/"
            return raw if raw.startswith(b"/") else None
    return None


def _decoded(raw: bytes) -> bytes:
    return bytes(repercent_broken_unicode(unquote_to_bytes(raw)))


def _after_nth_slash(path: bytes, count: int) -> int | None:
    index = -1
    for _ in range(count):
        index = path.find(b"/", index + 1)
        if index < 0:
            return None
    return index + 1


def _wsgi_bytes(value: str) -> bytes:
    # PEP 3333: environ strings carry the request's bytes as latin-1 code points.
    return value.encode("latin-1", errors="replace")


def _printable(target: bytes) -> str:
    return _NOT_TARGET_BYTE.sub(lambda byte: b"%%%02X" % byte[0][0], target).decode("ascii")
