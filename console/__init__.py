"""Berth's Django project and shell: settings, API, errors, permissions, auth."""

from __future__ import annotations

from console.celery import app as celery_app

__all__ = ["celery_app"]
