"""Client profile and labels in a real browser: an admin's label (made through the
API), an agent putting it on a client in the client pane without a page load, the
chip readable (axe: no contrast violation), and the list filtered by it."""

import json
import urllib.request

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

# All through the workspace's browser test: its server runs the bot on the emulator.
from conversations.tests.test_workspace_browser import (
    agent,
    browser,
    chromium,
    client_writes,
    new_context,
    not_reloaded,
    open_row,
    playwright,
    row,
    server,
    telegram,
    workspace,
)


def api(server: str, method: str, path: str, body: dict, token: str = "") -> dict:
    request = urllib.request.Request(
        server + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_an_agent_labels_a_client_and_filters_the_list_by_it(server, agent, telegram):
    token = api(
        server, "POST", "/api/auth/login/", {"email": "admin@helpdesk.com", "password": "admin123"}
    )["access"]
    label = api(server, "POST", "/api/labels/", {"name": "Gold", "color": "#ffd700"}, token)
    _id, labelled = client_writes(telegram, "I am a gold customer", name="Gold")
    _id, plain = client_writes(telegram, "Just asking", name="Plain")
    page = workspace(agent)
    open_row(page, labelled)

    profile = page.locator("#client-profile")
    expect(profile).to_contain_text("No labels.")
    profile.get_by_text("Edit profile").click()
    profile.get_by_label("Gold").check()
    profile.get_by_label("Profile note").fill("Orders every Friday")
    profile.get_by_role("button", name="Save profile").click()

    chip = page.locator("#client-profile .label-chip")
    expect(chip).to_have_text("Gold")
    expect(page.locator("#client-profile .profile-note")).to_have_text("Orders every Friday")
    assert not_reloaded(page)
    results = Axe().run(page, context="#client-profile")
    contrast = [v for v in results.response["violations"] if v["id"] == "color-contrast"]
    assert contrast == [], results.generate_report()

    page.locator("#session-label").select_option(label["id"])
    page.locator("#session-filters button").click()
    expect(row(page, labelled)).to_be_visible()
    expect(row(page, plain)).to_have_count(0)
    expect(page.locator("#session-label")).to_have_value(label["id"])
