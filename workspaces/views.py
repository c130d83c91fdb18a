"""The workspace's API keys page: owners and admins create and revoke keys; members see the list."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from domains.errors import NotAllowed
from workspaces.models import ApiKey
from workspaces.selectors import api_keys_for, membership_for
from workspaces.services import api_key_create, api_key_revoke
from workspaces.session import current_workspace


def _context(request: HttpRequest) -> dict:
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    membership = membership_for(user=request.user, workspace=workspace)
    return {
        "workspace": workspace,
        "can_manage": bool(membership and membership.can_manage_domains),
        "keys": api_keys_for(workspace=workspace),
    }


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
        except NotAllowed as exc:
            return render(request, "workspaces/api_keys.html", {**context, "error": str(exc)}, status=403)
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
    except NotAllowed as exc:
        return render(request, "workspaces/api_keys.html", {**context, "error": str(exc)}, status=403)
    messages.success(request, f"Revoked “{key.name}”: it stops working at once.")
    return redirect("workspaces:api_keys")
