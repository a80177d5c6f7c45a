"""Django's admin, signing in through the console's throttle (``console.login_views``).

``BerthAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so that
``admin.site`` is a ``BerthAdminSite``; what it shows of users and teams is in
``console/admin.py``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse


class BerthAdminConfig(AdminConfig):
    default_site = "console.admin_site.BerthAdminSite"


class BerthAdminSite(AdminSite):
    site_header = "Berth administration"
    site_title = "Berth admin"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Imported here: this module is loaded with the app registry, before the forms'
        # models may be; the site itself is only built once the apps are ready.
        from console.login_views import ThrottledAdminAuthenticationForm

        self.login_form = ThrottledAdminAuthenticationForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from console.login_views import was_throttled

        response: HttpResponse = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and was_throttled(form):
            response.status_code = 429
        return response
