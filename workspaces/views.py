"""The workspace pages: the switcher, the workspace page, and the API keys page (owners and admins create and revoke keys; members see the list)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from workspaces.models import ApiKey
from workspaces.roles import NotAllowed, can_manage, membership_of
from workspaces.selectors import api_keys_for, members_of
from workspaces.services import api_key_create, api_key_revoke
from workspaces.session import acting_workspace, switch_workspace


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
    workspace = acting_workspace(request)
    return {
        "workspace": workspace,
        "can_manage": can_manage(membership_of(user=request.user, workspace=workspace)),
        "keys": api_keys_for(workspace=workspace),
    }


@login_required
@require_http_methods(["GET"])
def workspace_detail(request: HttpRequest) -> HttpResponse:
    """The current workspace: its name, its id (`ws_…`, what the API's X-Workspace header takes), members and roles."""
    context = _context(request)
    context["members"] = members_of(workspace=context["workspace"])
    return render(request, "workspaces/detail.html", context)


def _refused(request: HttpRequest, context: dict, refusal: NotAllowed) -> HttpResponse:
    # The page again with the reason on it: the person stays where the keys are.
    return render(request, "workspaces/api_keys.html", {**context, "error": str(refusal)}, status=403)


# The session key holding a just-created key's secret until the page after the redirect shows it once.
NEW_KEY_SESSION = "new_api_key"


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """POST creates a key and redirects; the GET after it shows the secret once, from the session.

    A reload of the page after creating a key shows the list, not a second key.
    """
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
        # The server-side session holds it only until the next GET shows it.
        request.session[NEW_KEY_SESSION] = {"id": key.pk, "plaintext": plaintext}
        return redirect("workspaces:api_keys")
    shown = request.session.pop(NEW_KEY_SESSION, None)
    if shown:
        new_key = ApiKey.objects.filter(pk=shown["id"], workspace=context["workspace"]).first()
        if new_key is not None:
            context.update(new_key=new_key, plaintext=shown["plaintext"])
    response = render(request, "workspaces/api_keys.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes."""
    context = _context(request)
    key = get_object_or_404(ApiKey, pk=key_id, workspace=context["workspace"])
    if request.method == "GET":
        if not context["can_manage"]:
            return _refused(request, context, NotAllowed("Only the workspace's owners and admins can revoke keys."))
        return render(request, "workspaces/api_key_revoke.html", {**context, "key": key})
    try:
        api_key_revoke(user=request.user, key=key)
    except NotAllowed as refusal:
        return _refused(request, context, refusal)
    messages.success(request, f"Revoked “{key.name}”: it stops working at once.")
    return redirect("workspaces:api_keys")
