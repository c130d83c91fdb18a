"""Which workspace a signed-in person is acting for: kept in their session.

A person in several workspaces picks one with the switcher; until they do
(or when the one remembered is no longer theirs) it is the first by name.
"""

from django.http import Http404, HttpRequest

from workspaces.models import Workspace
from workspaces.selectors import workspaces_for_user

SESSION_KEY = "current_workspace_id"


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace the request acts for, or None when the user belongs to none."""
    workspaces = list(workspaces_for_user(request.user))
    if not workspaces:
        return None
    remembered = request.session.get(SESSION_KEY)
    for workspace in workspaces:
        if workspace.pk == remembered:
            return workspace
    return workspaces[0]


def acting_workspace(request: HttpRequest) -> Workspace:
    """current_workspace for a page that needs one: a 404 for a person who belongs to none."""
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace


def switch_workspace(request: HttpRequest, workspace_id: int | str) -> Workspace | None:
    """Remember `workspace_id` for this session if the user belongs to it."""
    try:
        wanted = int(workspace_id)
    except (TypeError, ValueError):
        return None
    workspace = workspaces_for_user(request.user).filter(pk=wanted).first()
    if workspace is not None:
        request.session[SESSION_KEY] = workspace.pk
    return workspace
