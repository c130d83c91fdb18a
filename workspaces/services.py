"""Writes about workspaces: API keys and idempotency records."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from workspaces.models import API_KEY_PREFIX, ApiKey, IdempotencyRecord, Workspace
from workspaces.roles import (
    NotAllowed,
    can_manage,
    is_support_staff,
    membership_of,
    require_manager,
    require_support_staff,
)

# last_used_at is a hint for people, not an audit log: one write a minute per key at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)
IDEMPOTENCY_TTL = timedelta(hours=24)
# Completes the refusal "Only the workspace's owners and admins can …".
MANAGE_KEYS = "manage its API keys"


def _hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def api_key_create(*, user: AbstractBaseUser, workspace: Workspace, name: str) -> tuple[ApiKey, str]:
    """A new key for the workspace, acting as `user`; the plaintext is returned once and never stored."""
    require_manager(user=user, workspace=workspace, action=MANAGE_KEYS)
    return _issue_key(workspace=workspace, name=name, acting_as=user)


def api_key_create_by_staff(
    *, staff_user: AbstractBaseUser, workspace: Workspace, acting_as: AbstractBaseUser, name: str
) -> tuple[ApiKey, str]:
    """Support issues a key for a workspace; it acts as one of the workspace's owners or admins.

    A key always acts as a member, so it never holds more rights than that
    member has, and it stops working if they leave the workspace.
    """
    require_support_staff(staff_user, permission="workspaces.add_apikey", action="add API keys")
    if not can_manage(membership_of(user=acting_as, workspace=workspace)):
        raise NotAllowed(f"{acting_as} is not an owner or admin of {workspace}; a key must act as one.")
    return _issue_key(workspace=workspace, name=name, acting_as=acting_as)


def _issue_key(*, workspace: Workspace, name: str, acting_as: AbstractBaseUser) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name:
        raise ValueError("Give the key a name.")
    for _ in range(5):  # key ids are random: retry the unlikely collision
        key_id = secrets.token_hex(6)
        plaintext = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    workspace=workspace,
                    name=name[:100],
                    key_id=key_id,
                    secret_hash=_hash_key(plaintext),
                    created_by=acting_as,
                )
        except IntegrityError:
            continue
        return key, plaintext
    raise RuntimeError("Could not allocate an API key id.")


def api_key_revoke(*, user: AbstractBaseUser, key: ApiKey) -> ApiKey:
    """Stop a key working at once. Support staff with the change permission may revoke any key."""
    if not is_support_staff(user, permission="workspaces.change_apikey"):
        require_manager(user=user, workspace=key.workspace, action=MANAGE_KEYS)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
    return key


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    """The active key with this plaintext (its workspace and creator loaded), else None."""
    if not plaintext.startswith(API_KEY_PREFIX):
        return None
    key_id, _, secret = plaintext[len(API_KEY_PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    key = (
        ApiKey.objects.select_related("workspace", "created_by").filter(key_id=key_id, revoked_at__isnull=True).first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_key(plaintext)):
        return None
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record use, writing at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    key.last_used_at = now


def idempotency_record_get(*, workspace: Workspace, key: str) -> IdempotencyRecord | None:
    """The live record for (workspace, key); an expired one is removed and not returned."""
    record = IdempotencyRecord.objects.filter(workspace=workspace, key=key).first()
    if record is not None and record.created_at < timezone.now() - IDEMPOTENCY_TTL:
        record.delete()
        return None
    return record


def idempotency_record_save(
    *, workspace: Workspace, key: str, request_hash: str, status: int, body: dict
) -> IdempotencyRecord | None:
    """Store a first response; None when a concurrent request stored one first."""
    IdempotencyRecord.objects.filter(workspace=workspace, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                workspace=workspace, key=key, request_hash=request_hash, response_status=status, response_body=body
            )
    except IntegrityError:
        return None


def idempotency_records_purge() -> int:
    """Delete every record older than the TTL (for a periodic task)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    return deleted
