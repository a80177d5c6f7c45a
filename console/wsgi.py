"""WSGI entry point for production servers (and for ``runserver``, which loads it too)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

application = get_wsgi_application()

# Production servers pass the raw request target themselves; this gives Django's development
# server the same (console/devserver.py), and does nothing under gunicorn.
from console import devserver  # noqa: E402 (after the settings module is chosen)

devserver.install()
