"""What Django's development and test servers leave out of the WSGI environ, put back.

``runserver`` and the live server of browser and proxy tests use
``django.core.servers.basehttp.WSGIRequestHandler`` (the test server a quiet subclass of
it). Two things the invoke proxy relies on are missing there, and production servers have:

- ``RAW_URI``: the request target exactly as the client sent it, as gunicorn names it.
  PATH_INFO is decoded and cannot tell ``/`` from ``%2F`` (workloads.proxy.target).
- ``berth.close_connection``: a callable that makes the server close the connection once
  the current response ends. gunicorn closes a connection whose application failed after
  its headers were sent, so the client sees the body incomplete; the development server
  would keep it open and the client would wait for bytes that never come.

``install()`` adds both to every request those servers handle. ``console/wsgi.py`` calls it,
which covers ``runserver`` (it loads WSGI_APPLICATION); tests that use the live server call
it themselves. Under gunicorn the patched class is never used, so installing is harmless.
"""

from __future__ import annotations

from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler

CLOSE_CONNECTION = "berth.close_connection"
_INSTALLED = "_berth_raw_target_installed"


def install() -> None:
    """Idempotent: a second call changes nothing."""
    if getattr(WSGIRequestHandler, _INSTALLED, False):
        return
    original = WSGIRequestHandler.get_environ

    def get_environ(self: WSGIRequestHandler) -> dict[str, Any]:
        environ: dict[str, Any] = original(self)
        # http.server keeps the request line's target, undecoded, in ``path``.
        environ.setdefault("RAW_URI", self.path)
        environ[CLOSE_CONNECTION] = lambda: setattr(self, "close_connection", True)
        return environ

    WSGIRequestHandler.get_environ = get_environ  # type: ignore[method-assign]
    setattr(WSGIRequestHandler, _INSTALLED, True)
