"""The console's side of the error tree: one helper turns domain errors into responses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from console.errors import Forbidden, NotFound

View = Callable[..., HttpResponse]


def domain_errors_as_http(view: View) -> View:
    """404 and 403 from services become Django's 404 and 403 pages.

    Conflicts and invalid input are the view's to show next to the form they concern.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.detail) from None
        except Forbidden as error:
            raise PermissionDenied(error.detail) from None

    return wrapped
