"""A person's own notification settings in the web UI."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from notifications import services, webhooks
from notifications.events import unknown_event_type_message, unknown_event_types
from notifications.models import EmailPreference, WebhookDelivery, WebhookEndpoint
from workspaces.roles import NotAllowed, can_manage, membership_of
from workspaces.session import current_workspace


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


NEW_SECRET_SESSION = "new_webhook_secret"


def _webhook_context(request) -> dict:
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return {
        "workspace": workspace,
        "can_manage": can_manage(membership_of(user=request.user, workspace=workspace)),
        "endpoints": WebhookEndpoint.objects.filter(workspace=workspace),
    }


@login_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request):
    """The workspace's endpoints; POST adds one and the GET after it shows its secret once."""
    context = _webhook_context(request)
    if request.method == "POST":
        events = [e.strip() for e in request.POST.get("events", "").replace(",", " ").split() if e.strip()]
        unknown = unknown_event_types(events)
        if unknown:
            error = unknown_event_type_message(unknown[0])
            return render(request, "notifications/webhooks.html", {**context, "error": error}, status=400)
        try:
            endpoint = webhooks.endpoint_create(
                user=request.user,
                workspace=context["workspace"],
                url=request.POST.get("url", "").strip(),
                events=events,
                description=request.POST.get("description", "").strip()[:200],
            )
        except (NotAllowed, webhooks.WebhookRefused) as refusal:
            status = 403 if isinstance(refusal, NotAllowed) else 400
            return render(request, "notifications/webhooks.html", {**context, "error": str(refusal)}, status=status)
        request.session[NEW_SECRET_SESSION] = {"id": str(endpoint.pk), "secret": endpoint.secret}
        return redirect("notifications:webhooks")
    shown = request.session.pop(NEW_SECRET_SESSION, None)
    if shown:
        context["new_secret"] = shown
    response = render(request, "notifications/webhooks.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request, endpoint_id):
    """One endpoint's deliveries and attempts; owners and admins test, redeliver, enable, disable or delete."""
    context = _webhook_context(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id, workspace=context["workspace"])
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "test":
                webhooks.endpoint_test(user=request.user, endpoint=endpoint)
                messages.success(request, "A webhook.test event is on its way.")
            elif action == "redeliver":
                delivery = get_object_or_404(WebhookDelivery, pk=request.POST.get("delivery"), endpoint=endpoint)
                webhooks.delivery_redeliver(user=request.user, delivery=delivery)
                messages.success(request, "Sent again.")
            elif action in ("enable", "disable"):
                webhooks.endpoint_update(user=request.user, endpoint=endpoint, enabled=action == "enable")
                messages.success(
                    request,
                    "Endpoint enabled."
                    if action == "enable"
                    else "Endpoint disabled: nothing is sent until you enable it.",
                )
            elif action == "delete":
                webhooks.endpoint_delete(user=request.user, endpoint=endpoint)
                messages.success(request, "Endpoint removed.")
                return redirect("notifications:webhooks")
        except NotAllowed as refusal:
            messages.error(request, str(refusal))
        return redirect("notifications:webhook_detail", endpoint_id=endpoint.pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempt_log")[:50]
    )
    return render(
        request, "notifications/webhook_detail.html", {**context, "endpoint": endpoint, "deliveries": deliveries}
    )
