"""Limits shared by the console and the REST API, so both refuse the same input."""

# Longest reply an agent may write, in characters. The delivery worker splits it into
# Telegram's 4,096-character messages; ten thousand is about three of them.
REPLY_MAX_CHARS = 10_000

# What Telegram takes in one message, in UTF-16 code units; longer replies go as several.
TELEGRAM_TEXT_LIMIT = 4096
