"""`manage.py serve` with DEBUG off and nothing collected still serves the console's
CSS and JS (a first production start used to get unstyled pages)."""

import urllib.request

import pytest

from helpdesk.tests.processes import BASE_DIR, manage, production_environment, serve_running


def _get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:
        return None


@pytest.fixture(scope="module")
def production_serve(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("serve-static")
    env = production_environment(
        tmp_path,
        STATIC_ROOT=str(tmp_path / "static-not-collected"),
        ALLOW_SEED_PASSWORDS="true",  # no seeded accounts here; just never refuse
    )
    manage("migrate", "--noinput", env=env)
    ready = lambda base: (_get(base + "/login/") or (0,))[0] == 200  # noqa: E731
    with serve_running(env, tmp_path / "serve.log", ready) as base:
        yield base


@pytest.mark.parametrize("path", ["/static/console/console.css", "/static/console/workspace.js"])
def test_serve_without_collectstatic_serves_the_consoles_css_and_js(production_serve, path):
    status, body = _get(production_serve + path)

    assert status == 200
    assert body == (BASE_DIR / "static" / path.removeprefix("/static/")).read_bytes()
