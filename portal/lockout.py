"""The answer to a sign-in that django-axes has locked out: the site's own page, not axes' bare text."""

from django.conf import settings
from django.shortcuts import render


def signin_locked_out(request, original_response=None, credentials=None):
    """429 with a page that says what happened and how long signing in is paused (AXES_LOCKOUT_CALLABLE)."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
