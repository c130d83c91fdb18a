import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from workspaces.models import Membership


@pytest.mark.django_db
def test_seed_demo_creates_the_cast_and_can_run_twice(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    roles = set(Membership.objects.values_list("user__username", "workspace__name", "role"))
    assert roles == {
        ("alice", "Acme Photo", "owner"),
        ("bob", "Acme Photo", "member"),
        ("charlie", "Charlie Studio", "owner"),
    }
    assert get_user_model().objects.get(username="alice").check_password("ve-demo-2026")
    assert "alice" in capsys.readouterr().out
