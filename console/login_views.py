"""Sign-in, throttled: 5 wrong passwords per username and address per 15 minutes.

The console's page and the Django admin's share the forms' check and so one count: a
guess spent on either is spent on both.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponse

from console.throttle import LOGIN_FAILURES, client_ip

WAIT_MESSAGE = "Too many failed sign-ins. Wait 15 minutes, then try again."


class FailureThrottledForm(AuthenticationForm):
    """Counts each failed sign-in against (username, address); once that pair is over the
    limit, refuses without checking the password, so guesses made meanwhile learn nothing."""

    def _who(self) -> tuple[str, str]:
        # Case-folded: one bucket however the name is typed, whatever the backend matches.
        username = str(self.cleaned_data.get("username") or "").casefold()
        return username, client_ip(self.request) if self.request is not None else ""

    def clean(self) -> dict[str, Any]:
        who = self._who()
        if LOGIN_FAILURES.blocked(*who):
            raise forms.ValidationError(WAIT_MESSAGE, code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # AuthenticationForm.clean raises only for credentials that do not sign in
            # (the admin's form also for a user who is not staff).
            LOGIN_FAILURES.failed(*who)
            raise
        if self.user_cache is not None:
            LOGIN_FAILURES.clear(*who)
        return cleaned


class ThrottledAuthenticationForm(FailureThrottledForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match.",
    }


class ThrottledAdminAuthenticationForm(FailureThrottledForm, AdminAuthenticationForm):
    """The admin's form (staff only) with the console's throttle."""


def was_throttled(form: forms.Form) -> bool:
    """Whether ``form`` was refused for too many failures: such answers are 429."""
    return form.has_error(NON_FIELD_ERRORS, code="throttled")


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if was_throttled(form):
            response.status_code = 429
        return response
