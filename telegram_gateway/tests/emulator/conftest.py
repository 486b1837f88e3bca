from telegram_gateway.emulator.pytest_fixtures import (  # noqa: F401
    async_emulator,
    bot_token,
    emulated_bot,
    emulator,
)
