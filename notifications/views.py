"""A person's own notification settings in the web UI."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from notifications import services
from notifications.models import EmailPreference


@login_required
def email_settings(request):
    preference = EmailPreference.objects.filter(user=request.user).first()
    if request.method == "POST":
        wanted = request.POST.get("domain_emails") == "on"
        services.email_preference_set(user=request.user, domain_emails=wanted)
        messages.success(request, "Domain e-mails are on." if wanted else "Domain e-mails are off.")
        return redirect("notifications:email_settings")
    return render(
        request,
        "notifications/email_settings.html",
        {"domain_emails": preference.domain_emails if preference else True},
    )
