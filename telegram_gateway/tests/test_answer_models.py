"""The models that read the Bot API's answers are built once, at start, not on first use
(each build holds the GIL for tens of milliseconds while every message waits)."""

import os
import subprocess
import sys

from helpdesk.tests.processes import BASE_DIR

# In a fresh interpreter: after the start-up preparation, sending through the bot to the
# emulator builds no further answer model (pydantic makes each one a subclass).
SCRIPT = """
import asyncio, gc, sys
from aiogram import methods
from telegram_emulator import EmulatorThread
from telegram_gateway.bot import build_bot
from telegram_gateway.transport import bot_answer_models_prepare

if sys.argv[1] == "prepared":
    bot_answer_models_prepare()
# pydantic caches built models weakly: models built by imports and no longer referenced
# would be collected at random moments, so collect them now and pause the collector.
gc.collect()
gc.disable()
before = len(methods.Response.__subclasses__())

async def converse(base_url):
    bot = build_bot("123:secret", base_url)
    try:
        await bot.get_me()
        message = await bot.send_message(5001, "Hello")
        await bot.send_chat_action(5001, "typing")
        await bot.edit_message_text("Hello again", chat_id=5001, message_id=message.message_id)
    finally:
        await bot.session.close()

with EmulatorThread(["123:secret"]) as emulator:
    emulator.add_user(5001, "Rina")
    asyncio.run(converse(emulator.base_url))
print(len(methods.Response.__subclasses__()) - before)
"""


def answer_models_built_while_sending(mode: str) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"}
    code = f"import django; django.setup()\n{SCRIPT}"
    done = subprocess.run(
        [sys.executable, "-c", code, mode],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1])


def test_answers_are_read_with_the_models_built_at_start():
    assert answer_models_built_while_sending("prepared") == 0


def test_without_the_preparation_the_first_answers_build_their_models():
    # The measure above can see a build: unprepared, each of the four answers (User,
    # Message, bool, Message or bool) builds its model; 0 here would mean the control
    # no longer proves anything.
    assert answer_models_built_while_sending("unprepared") == 4
