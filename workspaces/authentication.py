"""`Authorization: Bearer vek_...` for the integrations API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from workspaces.roles import membership_of
from workspaces.services import api_key_authenticate, api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Resolves a workspace API key: request.user is the key's creator, request.auth the ApiKey.

    The key works only while its creator is still an active member of the
    key's workspace, and with that member's current role.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use 'Bearer <API key>'."))
        try:
            plaintext = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        key = api_key_authenticate(plaintext)
        if key is None or key.created_by is None or not key.created_by.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        membership = membership_of(user=key.created_by, workspace=key.workspace)
        if membership is None:
            raise exceptions.AuthenticationFailed(_("This API key's creator is no longer a member of its workspace."))
        membership.workspace = key.workspace  # share the loaded row
        key.membership = membership
        api_key_touch(key=key)
        return (key.created_by, key)

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
