"""Which workspace an API request acts in: the API key's own, or the one a session user names."""

from rest_framework import exceptions
from rest_framework.request import Request

from workspaces.models import ApiKey, Membership

WORKSPACE_PARAM = "workspace"
WORKSPACE_HEADER = "X-Workspace"


def resolve_membership(request: Request) -> Membership:
    """The acting membership: the API key's, or the session user's chosen (or first) workspace.

    A workspace id that is not the caller's answers 404, as if it did not exist.
    """
    wanted = request.query_params.get(WORKSPACE_PARAM) or request.headers.get(WORKSPACE_HEADER)
    if isinstance(request.auth, ApiKey):
        membership = request.auth.membership
        if wanted and wanted != membership.workspace.public_id:
            raise exceptions.NotFound("No such workspace: an API key works only in its own workspace.")
        return membership
    memberships = Membership.objects.select_related("workspace").filter(user=request.user)
    if wanted:
        membership = memberships.filter(workspace__public_id=wanted).first()
        if membership is None:
            raise exceptions.NotFound("No such workspace.")
        return membership
    membership = memberships.order_by("workspace__name", "workspace_id").first()
    if membership is None:
        raise exceptions.PermissionDenied("You are not a member of any workspace.")
    return membership
