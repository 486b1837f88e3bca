"""`manage.py serve --proxy-headers` behind nginx sees each client's own address, as
daphne --proxy-headers does: without it every client has the proxy's address, so one
client's failed logins would lock everyone out and address rules could not tell anyone
apart. /metrics' METRICS_ALLOWED_IPS shows which address the app saw."""

import urllib.error
import urllib.request

import pytest

from helpdesk.tests.processes import command_running, free_port, manage, production_environment
from telegram_gateway.tests.conftest import wait_until

CLIENT = "203.0.113.7"  # the browser's address, as nginx forwards it


def metrics_status(base: str, forwarded_for: str) -> int | None:
    request = urllib.request.Request(base + "/metrics", headers={"X-Forwarded-For": forwarded_for})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    tmp_path = tmp_path_factory.mktemp("serve-proxy")
    env = production_environment(
        tmp_path,
        METRICS_ALLOWED_IPS=CLIENT,
        SANDBOX="false",  # no token: the web app alone
    )
    manage("migrate", "--noinput", env=env)
    return env


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(["--proxy-headers"], 200), ([], 403)],
    ids=["with --proxy-headers: the client's address", "without: the proxy's address"],
)
def test_serve_takes_the_client_address_from_the_proxy_only_when_told(
    production_env, tmp_path, flags, expected
):
    base = f"http://127.0.0.1:{free_port()}"
    log_path = tmp_path / "serve.log"
    with command_running(
        "serve", base.removeprefix("http://"), *flags, env=production_env, log_path=log_path
    ):
        wait_until(lambda: metrics_status(base, CLIENT) is not None, timeout=60)

        assert metrics_status(base, CLIENT) == expected, log_path.read_text()
        # A client the rule does not name is refused either way.
        assert metrics_status(base, "198.51.100.9") == 403
