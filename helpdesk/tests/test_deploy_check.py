"""The production settings the README documents pass `manage.py check --deploy` with no
warning, and cookies are HTTPS-only whenever DEBUG is off."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from helpdesk.tests.processes import BASE_DIR

SECTION = "## Production on MySQL / MariaDB"


def readme_production_environment() -> dict[str, str]:
    """The variables the README's production block exports (continuation lines too)."""
    readme = (BASE_DIR / "README.md").read_text()
    block = readme.split(SECTION, 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    exported = " ".join(
        line.removeprefix("export ").rstrip("\\ ")
        for line in block.splitlines()
        if line.startswith(("export ", " "))
    )
    return dict(re.findall(r"([A-Z_]+)=(\S+)", exported))


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    documented = readme_production_environment()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DJANGO_"))}
    return {
        **keep,
        **documented,
        "ENV_FILE": "/dev/null",
        "SECRET_KEY": secrets.token_urlsafe(50),  # the README's is "…": yours to make
        # A migrated database of the test's own (the accounts check reads users).
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **overrides,
    }


def test_the_readme_documents_the_https_settings():
    documented = readme_production_environment()
    assert documented["DEBUG"] == "False"
    assert documented["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO,https"
    assert int(documented["SECURE_HSTS_SECONDS"]) >= 31536000


def test_check_deploy_reports_nothing_on_the_readmes_production_settings(tmp_path):
    env = production_env(tmp_path)
    manage("migrate", "--noinput", env=env)

    checked = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_without_the_https_settings_check_deploy_warns(tmp_path):
    # The check above can fail: dropping the README's HTTPS line brings Django's warnings.
    env = {k: v for k, v in production_env(tmp_path).items() if not k.startswith("SECURE_")}
    manage("migrate", "--noinput", env=env)

    checked = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert checked.returncode != 0
    assert "security.W004" in checked.stderr and "security.W008" in checked.stderr


def cookie_settings(env: dict[str, str]) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
    )
    env = {**env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    return done.stdout.strip()


def test_cookies_are_https_only_unless_debug_is_on(tmp_path):
    production = production_env(tmp_path)
    assert cookie_settings(production) == "True True"
    assert cookie_settings({**production, "DEBUG": "true"}) == "False False"
    plain = {**production, "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false"}
    assert cookie_settings(plain) == "False False"
