"""The workspace pages: the switcher, and the API keys page (owners and admins create and revoke keys; members see the list)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from workspaces.models import ApiKey
from workspaces.roles import NotAllowed, can_manage, membership_of
from workspaces.selectors import api_keys_for
from workspaces.services import api_key_create, api_key_revoke
from workspaces.session import current_workspace, switch_workspace


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    workspace = switch_workspace(request, request.POST.get("workspace"))
    if workspace is None:
        raise Http404("No such workspace.")
    messages.info(request, f"Now showing {workspace.name}.")
    # The home page (the domains list), now showing the chosen workspace.
    return redirect(settings.LOGIN_REDIRECT_URL)


def _context(request: HttpRequest) -> dict:
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return {
        "workspace": workspace,
        "can_manage": can_manage(membership_of(user=request.user, workspace=workspace)),
        "keys": api_keys_for(workspace=workspace),
    }


def _refused(request: HttpRequest, context: dict, refusal: NotAllowed) -> HttpResponse:
    # The page again with the reason on it: the person stays where the keys are.
    return render(request, "workspaces/api_keys.html", {**context, "error": str(refusal)}, status=403)


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            context["name_error"] = "Give the key a name, e.g. the integration that will use it."
            return render(request, "workspaces/api_keys.html", context, status=400)
        try:
            key, plaintext = api_key_create(user=request.user, workspace=context["workspace"], name=name)
        except NotAllowed as refusal:
            return _refused(request, context, refusal)
        # Rendered, not redirected: the plaintext must not travel through the session or a URL.
        response = render(request, "workspaces/api_keys.html", {**context, "new_key": key, "plaintext": plaintext})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "workspaces/api_keys.html", context)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    context = _context(request)
    key = get_object_or_404(ApiKey, pk=key_id, workspace=context["workspace"])
    try:
        api_key_revoke(user=request.user, key=key)
    except NotAllowed as refusal:
        return _refused(request, context, refusal)
    messages.success(request, f"Revoked “{key.name}”: it stops working at once.")
    return redirect("workspaces:api_keys")
