"""The reports page in a real browser (issue 15, requirement 6): a rating pressed by a
Telegram client shows in the figures an admin and its agent see; another CS sees only its
own figures.

One `serve` process (web app, bot and the sandbox's Bot API emulator) on a fresh database
of the pass's kind (SQLite, or MariaDB in the MariaDB pass) seeded by `setup_db`. A
person plays the client on /sandbox/ in a browser page (signed in as cs3) and presses the
survey's "5" button there; cs1 answers and ends the session in the workspace. What is
asserted is what each person sees.
"""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conversations.bot_texts import DEFAULT_TEXTS
from conversations.tests.browser import (
    ADMIN_PASSWORD,
    browser,
    chromium,
    contexts,
    go_on_duty,
    log_in,
    playwright,
    row,
    served,
    wait_live,
)

EN = DEFAULT_TEXTS["en"]
CLIENT = "Rina Rating"
STARS = ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
CHARTS = [
    "Line chart: sessions started, messages in and messages out per day. The same figures are "
    "in the table below.",
    "Line chart: median first response per day, in minutes, by the day of the assignment.",
    "Line chart: median resolution per day, in minutes, by the day the session ended.",
]
NO_VALUE = "\u2013"


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    yield from served(tmp_path_factory, "reports", TELEGRAM_CHAT_SEND_INTERVAL="0.2")


@pytest.fixture(scope="module")
def new_context(browser: Browser, server: str):
    yield from contexts(browser, server)


def play_a_client(context: BrowserContext) -> Page:
    """A person on /sandbox/ adds a client, who writes; the bot's notice comes back."""
    page = context.new_page()
    page.goto("/sandbox/")
    page.get_by_placeholder("First name").fill(CLIENT)
    page.get_by_role("button", name="Add client").click()
    expect(page.locator("#chat-title")).to_have_text("Chat as " + CLIENT)
    page.get_by_placeholder("Write a message…").fill("I was charged twice.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages li.bot").first).to_have_text(re.compile("An agent"))
    return page


def answer_and_end(context: BrowserContext) -> None:
    """cs1 opens the new conversation, answers, and ends the session."""
    page = context.new_page()
    page.goto("/console/")
    wait_live(page)
    row(page, CLIENT).locator("a").click()
    expect(page).to_have_url(re.compile(r"/console/sessions/[^/]+/$"))
    page.locator("#reply-text").fill("Refunded: the second charge is back on your card.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages > li.msg.cs", has_text="Refunded")).to_be_visible()
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="End session")).to_have_count(0)
    expect(page.locator("#conversation")).to_have_attribute("data-status", "ENDED")


def open_reports(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto("/console/")
    page.get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/console/reports/$"))
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    return page


def headline(page: Page, measure: str):
    return page.locator(f".report-figure[data-measure='{measure}'] dd")


def agents_table(page: Page):
    return page.get_by_role("table", name="Figures per agent")


def agent_row(page: Page, name: str):
    return (
        agents_table(page)
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=name, exact=True))
    )


def cells(row_locator) -> list[str]:
    return [text.strip() for text in row_locator.get_by_role("cell").all_inner_texts()]


def heatmap_total(page: Page) -> int:
    numbers = page.locator("#report-heatmap tbody td").all_inner_texts()
    assert len(numbers) == 7 * 24
    return sum(int(number) for number in numbers)


def expect_range_ends_today(page: Page) -> None:
    """The default range: the last 30 days to today, in the desk's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    shown_to = page.get_by_label("To", exact=True).input_value()
    today = datetime.now(zone).date()
    assert shown_to in {today.isoformat(), (today - timedelta(days=1)).isoformat()}  # midnight
    last = datetime.fromisoformat(shown_to).date()
    expect(page.get_by_label("From", exact=True)).to_have_value(
        (last - timedelta(days=29)).isoformat()
    )


def expect_charts(page: Page) -> None:
    for name in CHARTS:
        chart = page.get_by_role("img", name=name, exact=True)
        expect(chart).to_be_visible()
        expect(chart.locator("svg")).to_have_count(1)


def test_a_rating_pressed_by_the_client_shows_in_the_admins_and_the_agents_figures(
    new_context,
):
    cs1 = new_context()
    go_on_duty(log_in(cs1, "cs1@helpdesk.com"))
    player = play_a_client(log_in_context(new_context(), "cs3@helpdesk.com"))

    answer_and_end(cs1)

    survey = player.locator("#messages li.bot", has_text=EN["csat_question"])
    expect(survey.get_by_role("button")).to_have_text(STARS)
    survey.get_by_role("button", name="5 ⭐").click()
    thanks = EN["csat_thanks"].format(rating=5, minutes=10)
    expect(player.locator("#messages li.bot", has_text=thanks)).to_be_visible()
    expect(survey).to_have_count(0)  # the survey became the thank-you, in place
    expect(player.locator("#messages li.bot").get_by_role("button")).to_have_count(0)
    expect(player.locator("#error")).to_have_text("")

    admin = open_reports(log_in_context(new_context(), "admin@helpdesk.com", ADMIN_PASSWORD))
    expect_range_ends_today(admin)
    expect(admin.locator(".report-scope")).to_contain_text("All agents.")
    expect(admin.get_by_role("combobox", name="Agent", exact=True)).to_be_visible()
    expect_charts(admin)
    expect(headline(admin, "csat_average")).to_have_text("5.00")
    expect(headline(admin, "csat_positive_share")).to_have_text("100.0%")
    expect(admin.get_by_text("1 ratings; 1 surveys sent.")).to_be_visible()
    started = int(headline(admin, "sessions_started").inner_text())
    assert started == 2  # the seeded sample session and Rina's, both cs1's
    expect(
        admin.get_by_role("table", name=re.compile("^Sessions started by weekday"))
    ).to_be_visible()
    assert heatmap_total(admin) == started
    expect(agent_row(admin, "CS 1")).to_have_count(1)
    assert cells(agent_row(admin, "CS 1"))[0] == str(started)
    assert cells(agent_row(admin, "CS 1"))[-1] == "5.00"
    assert cells(agent_row(admin, "CS 2")) == ["0", NO_VALUE, NO_VALUE, NO_VALUE]

    cs2 = open_reports(log_in_context(new_context(), "cs2@helpdesk.com"))
    expect_range_ends_today(cs2)
    expect(cs2.locator(".report-scope")).to_contain_text("Your own figures.")
    no_filter = cs2.get_by_role("combobox", name="Agent", exact=True)
    expect(no_filter).to_have_count(0)
    expect_charts(cs2)
    expect(headline(cs2, "sessions_started")).to_have_text("0")
    expect(headline(cs2, "csat_average")).to_have_text(NO_VALUE)
    expect(cs2.get_by_text("0 ratings; 0 surveys sent.")).to_be_visible()
    assert heatmap_total(cs2) == 0
    expect(agents_table(cs2).get_by_role("rowheader")).to_have_text(["CS 2"])
    expect(agents_table(cs2)).not_to_contain_text("CS 1")

    mine = open_reports(cs1)
    expect(mine.locator(".report-scope")).to_contain_text("Your own figures.")
    expect(mine.get_by_role("combobox", name="Agent", exact=True)).to_have_count(0)
    expect(headline(mine, "csat_average")).to_have_text("5.00")
    expect(headline(mine, "sessions_started")).to_have_text(str(started))
    expect(agents_table(mine).get_by_role("rowheader")).to_have_text(["CS 1"])
    assert cells(agent_row(mine, "CS 1"))[-1] == "5.00"


def log_in_context(context: BrowserContext, email: str, password: str | None = None):
    """Sign `context` in through the form; its pages share the sign-in."""
    page = log_in(context, email) if password is None else log_in(context, email, password)
    page.close()
    return context
