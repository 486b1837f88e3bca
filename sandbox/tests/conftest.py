from telegram_emulator.pytest_fixtures import bot_token, emulator  # noqa: F401
