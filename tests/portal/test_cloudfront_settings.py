"""HTTPS through CloudFront fails closed: production refuses to start without its distribution unless told it is off."""

from tests.portal.test_production_settings import a_secret_key, run, settings_in

IDS = {"CLOUDFRONT_DISTRIBUTION_ID": "E1EXAMPLE", "CLOUDFRONT_CONNECTION_GROUP_ID": "cg_example"}


def test_production_without_the_distribution_refuses_to_start_with_one_clear_line(tmp_path):
    finished = run(["manage.py", "check"], {"SECRET_KEY": a_secret_key()}, tmp_path)

    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    assert "CLOUDFRONT_DISTRIBUTION_ID" in finished.stderr and "CLOUDFRONT_ENABLED=false" in finished.stderr
    assert finished.stderr.count("\n") <= 3, finished.stderr


def test_a_distribution_without_its_connection_group_is_refused_too(tmp_path):
    env = {"SECRET_KEY": a_secret_key(), "CLOUDFRONT_DISTRIBUTION_ID": "E1EXAMPLE"}

    finished = run(["manage.py", "check"], env, tmp_path)

    assert finished.returncode != 0 and "CLOUDFRONT_CONNECTION_GROUP_ID" in finished.stderr


def test_production_with_the_distribution_provisions_https(tmp_path):
    env = {"SECRET_KEY": a_secret_key(), **IDS}

    assert settings_in(env, tmp_path, "CLOUDFRONT_ENABLED", "CLOUDFRONT_DISTRIBUTION_ID") == {
        "CLOUDFRONT_ENABLED": True,
        "CLOUDFRONT_DISTRIBUTION_ID": "E1EXAMPLE",
    }


def test_turned_off_explicitly_production_runs_without_cloudfront(tmp_path):
    env = {"SECRET_KEY": a_secret_key(), "CLOUDFRONT_ENABLED": "false"}

    assert settings_in(env, tmp_path, "CLOUDFRONT_ENABLED") == {"CLOUDFRONT_ENABLED": False}


def test_with_debug_it_is_on_only_when_a_distribution_is_given(tmp_path):
    assert settings_in({"DEBUG": "true"}, tmp_path, "CLOUDFRONT_ENABLED") == {"CLOUDFRONT_ENABLED": False}
    assert settings_in({"DEBUG": "true", **IDS}, tmp_path, "CLOUDFRONT_ENABLED") == {"CLOUDFRONT_ENABLED": True}


def test_the_local_stack_provisions_https_through_the_stand_in(tmp_path):
    from devstack.stack import Ports, Stack

    env = Stack(ports=Ports(), var_dir=tmp_path).environment()
    wanted = ("CLOUDFRONT_ENABLED", "CLOUDFRONT_ENDPOINT_URL")
    local = {name: value for name, value in env.items() if name == "DEBUG" or name.startswith("CLOUDFRONT_")}

    assert settings_in(local, tmp_path, *wanted) == {
        "CLOUDFRONT_ENABLED": True,
        "CLOUDFRONT_ENDPOINT_URL": env["CLOUDFRONT_ENDPOINT_URL"],
    }
    # pebble issues within seconds, so the local certificate polls do not wait 5 s to 5 min.
    fast = settings_in(local, tmp_path, "CLOUDFRONT_POLL_MAX_SECONDS", "CLOUDFRONT_SWEEP_PERIOD")
    assert fast["CLOUDFRONT_POLL_MAX_SECONDS"] <= 5 and fast["CLOUDFRONT_SWEEP_PERIOD"] <= 2
