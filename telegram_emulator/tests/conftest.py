from telegram_emulator.pytest_fixtures import (  # noqa: F401
    async_emulator,
    bot_token,
    emulated_bot,
    emulator,
)
