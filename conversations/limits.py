"""Limits shared by the console and the REST API, so both refuse the same input."""

# Longest reply an agent may write, in characters. The delivery worker splits it into
# Telegram's 4,096-character messages; ten thousand is about three of them.
REPLY_MAX_CHARS = 10_000
