"""Signals other apps listen to, so artifacts need not know about them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the locking transaction with ``artifact`` (now locked) as keyword argument.
artifact_locked = Signal()
