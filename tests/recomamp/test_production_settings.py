"""Production defaults: no start on the published development keys, HTTPS settings from the
environment, and `manage.py check --deploy` clean with the README's production variables."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

#: The production variables the README lists as required (with example values).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "RECOMAMP_FERNET_KEYS": Fernet.generate_key().decode(),
    "DJANGO_ALLOWED_HOSTS": "recomamp.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://recomamp.example.com",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "AMC_CLIENT_ID": "amzn1.application-oa2-client.example",
    "AMC_CLIENT_SECRET": "example-client-secret",
}


def manage(*args, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "RECOMAMP_", "AMC_")) and key != "DATABASE_URL"
    }
    base["RECOMAMP_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_production_process_refuses_the_development_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_production_process_refuses_the_development_fernet_key(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "RECOMAMP_FERNET_KEYS"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "RECOMAMP_FERNET_KEYS is not set" in result.stderr


def test_a_command_that_needs_the_keys_names_the_missing_setting(tmp_path):
    # Django's command runner hides a settings error from most commands and fails later with
    # "AppRegistryNotReady"; manage.py says what is missing.
    result = manage("migrate", "--check", env={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "AppRegistryNotReady" not in result.stderr


def test_schema_commands_run_without_any_keys(tmp_path):
    # makemigrations reads code and migrations only: a bare checkout (or CI job) can check
    # that models and migrations agree without production keys.
    result = manage("makemigrations", "--check", "--dry-run", env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_the_embedded_demo_still_starts_on_the_development_keys(tmp_path):
    result = manage("check", env={"RECOMAMP_EMBEDDED": "1"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _compose() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_has_no_default_secrets():
    compose = _compose()
    required = {
        "DJANGO_SECRET_KEY",
        "RECOMAMP_FERNET_KEYS",
        "AMC_CLIENT_SECRET",
        "DJANGO_ALLOWED_HOSTS",
    }
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        for key in required & set(environment):
            assert environment[key].startswith(f"${{{key}:?"), (name, key, environment[key])
        for value in environment.values():
            assert "change-me" not in str(value) and "recomamp-demo-secret" not in str(value)
    postgres = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres.startswith("${POSTGRES_PASSWORD:?")


def test_flower_needs_a_password_and_is_published_on_loopback_only():
    flower = compose_service("flower")
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert flower["ports"] == ["127.0.0.1:5555:5555"]


def test_the_simulator_and_demo_data_are_only_in_the_demo_profile():
    compose = _compose()
    assert compose_service("simulator")["profiles"] == ["demo"]
    assert compose_service("seed_demo")["profiles"] == ["demo"]
    outside_demo = [s for s in compose["services"].values() if "demo" not in s.get("profiles", [])]
    assert not any("seed_demo" in str(s.get("command")) for s in outside_demo)
    assert not any("amc_simulator" in str(s.get("command")) for s in outside_demo)


def compose_service(name: str) -> dict:
    return _compose()["services"][name]
