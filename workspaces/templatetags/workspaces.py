"""Template tags for the page layout: which workspace the person is acting for."""

from django import template

from workspaces.selectors import workspaces_for_user
from workspaces.session import current_workspace

register = template.Library()


@register.inclusion_tag("workspaces/_switcher.html", takes_context=True)
def workspace_switcher(context) -> dict:
    """The current workspace's name, and a switcher when the user has several."""
    request = context["request"]
    return {
        "workspaces": list(workspaces_for_user(request.user)),
        "current": current_workspace(request),
        "csrf_token": context.get("csrf_token"),
    }
