"""A person's own notification settings in the web UI."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from notifications import services, webhooks
from notifications.forms import WebhookEndpointForm
from notifications.models import EmailPreference, WebhookDelivery, WebhookEndpoint
from workspaces.roles import NotAllowed, can_manage, membership_of, require_manager
from workspaces.session import acting_workspace


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
    workspace = acting_workspace(request)
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
        form = WebhookEndpointForm(request.POST)
        try:
            # A member is refused whatever they typed, before the form would tell them what to fix.
            require_manager(user=request.user, workspace=context["workspace"], action=webhooks.ACTION)
            if form.is_valid():
                endpoint = webhooks.endpoint_create(
                    user=request.user,
                    workspace=context["workspace"],
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
                request.session[NEW_SECRET_SESSION] = {"id": str(endpoint.pk), "secret": endpoint.secret}
                return redirect("notifications:webhooks")
        except NotAllowed as refusal:
            return render(request, "notifications/webhooks.html", {**context, "error": str(refusal)}, status=403)
        except webhooks.WebhookRefused as refusal:
            # The service owns the URL's rules; its reason belongs under the field that broke them.
            form.add_error("url", str(refusal))
        return render(request, "notifications/webhooks.html", {**context, "form": form}, status=400)
    context["form"] = WebhookEndpointForm()
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
