"""With DEBUG off, no process starts while a sample account's password still logs in.

serve, runbot, deliver and the ASGI app refuse with one line unless ALLOW_SEED_PASSWORDS
is set, which then warns at every start. The ASGI app and serve run in fresh processes,
on a SQLite database seeded once for the module.
"""

import logging
import re
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from helpdesk.startup import start_up_refuse_seed_passwords
from helpdesk.tests.processes import BASE_DIR, free_port
from helpdesk.tests.test_settings import run_python

REFUSAL = "Refusing to start: 1 account(s) still have a sample password"


@pytest.fixture
def seeded_admin(make_user, settings):
    settings.DEBUG = False
    settings.ALLOW_SEED_PASSWORDS = False
    return make_user("admin@helpdesk.com", role=User.Role.ADMIN, password="admin123")


@pytest.mark.django_db
class TestInProcess:
    def test_the_start_up_helper_refuses_in_one_line(self, seeded_admin):
        with pytest.raises(ImproperlyConfigured) as refused:
            start_up_refuse_seed_passwords()
        message = str(refused.value)
        assert message.startswith(REFUSAL) and "admin@helpdesk.com" in message
        assert "\n" not in message and "ALLOW_SEED_PASSWORDS=true" in message

    @pytest.mark.parametrize("command", ["runbot", "deliver"])
    def test_bot_commands_refuse_before_anything_else(self, seeded_admin, command, settings):
        settings.TELEGRAM_BOT_TOKEN = "123:never-used"
        with pytest.raises(CommandError, match=re.escape(REFUSAL)):
            call_command(command)

    def test_allowed_it_starts_and_warns(self, seeded_admin, settings, caplog):
        settings.ALLOW_SEED_PASSWORDS = True
        with caplog.at_level(logging.WARNING, logger="helpdesk.startup"):
            start_up_refuse_seed_passwords()
        assert "ALLOW_SEED_PASSWORDS is on" in caplog.text

    def test_debug_on_starts_quietly(self, seeded_admin, settings, caplog):
        settings.DEBUG = True
        start_up_refuse_seed_passwords()
        assert "ALLOW_SEED_PASSWORDS" not in caplog.text

    def test_changed_passwords_start(self, seeded_admin):
        seeded_admin.set_password("a-real-secret-42")
        seeded_admin.save()
        start_up_refuse_seed_passwords()


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory) -> str:
    """A migrated SQLite file holding `manage.py seed`'s accounts and sample data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'db.sqlite3'}"
    result = run_python(
        "import django; django.setup(); from django.core.management import call_command;"
        "call_command('migrate', verbosity=0); call_command('seed', verbosity=0)",
        SECRET_KEY="k",
        DATABASE_URL=url,
    )
    assert result.returncode == 0, result.stderr
    return url


def test_the_asgi_app_refuses_to_start_with_the_seeded_accounts(seeded_database):
    result = run_python("import helpdesk.asgi", SECRET_KEY="k", DATABASE_URL=seeded_database)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: Refusing to start")
    assert "4 account(s)" in last_line and "admin@helpdesk.com" in last_line


def test_the_asgi_app_starts_with_them_when_allowed_and_says_so(seeded_database):
    result = run_python(
        "import helpdesk.asgi; print('started')",
        SECRET_KEY="k",
        DATABASE_URL=seeded_database,
        ALLOW_SEED_PASSWORDS="true",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
    assert "WARNING helpdesk.startup: ALLOW_SEED_PASSWORDS is on" in result.stderr


def test_serve_refuses_in_one_line(seeded_database):
    environment = {
        "PATH": "/usr/bin:/bin",
        "ENV_FILE": "/dev/null",
        "SECRET_KEY": "k",
        "DATABASE_URL": seeded_database,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{free_port()}"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "Refusing" in line] == [
        f"CommandError: {REFUSAL.replace('1 account', '4 account')} of `manage.py seed` "
        "(admin@helpdesk.com, cs1@helpdesk.com, cs2@helpdesk.com, cs3@helpdesk.com). "
        "Change them (manage.py changepassword EMAIL), or set ALLOW_SEED_PASSWORDS=true "
        "for a demo."
    ]
