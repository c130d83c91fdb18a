"""Create the demo cast: Acme Photo (alice owner, bob member) and charlie's own workspace."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from workspaces.models import Membership, Role, Workspace

# Local demo only: these accounts exist on a developer's machine, never in production data.
DEMO_PASSWORD = "ve-demo-2026"
DEMO_CAST = [
    # (username, workspace name, role, is_staff)
    ("alice", "Acme Photo", Role.OWNER, False),
    ("bob", "Acme Photo", Role.MEMBER, False),
    ("charlie", "Charlie Studio", Role.OWNER, False),
    ("support", None, None, True),
]


class Command(BaseCommand):
    help = "Create the demo users and workspaces (idempotent) and print how to sign in."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        for username, workspace_name, role, is_staff in DEMO_CAST:
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = is_staff
            user.is_superuser = is_staff
            user.save()
            if workspace_name:
                workspace, _ = Workspace.objects.get_or_create(name=workspace_name)
                Membership.objects.update_or_create(user=user, workspace=workspace, defaults={"role": role})
            where = f"{role} of {workspace_name}" if workspace_name else "support staff (admin)"
            self.stdout.write(f"  {username:<8} password {DEMO_PASSWORD}   {where}")
        self.stdout.write(self.style.SUCCESS("Demo users ready."))
