"""Writes to clients, sessions and chats. Every function is synchronous and
transactional; async callers (the bot, consumers) wrap them with `sync_to_async`."""

from conversations.services.blocking import (
    client_block,
    client_hold_back_if_blocked,
    client_is_blocked,
    client_unblock,
)
from conversations.services.clients import Sender
from conversations.services.csat import CsatAnswer, csat_answer
from conversations.services.files import chat_file_url
from conversations.services.idle import (
    IdleAnswer,
    idle_answer,
    idle_sessions_check,
    idle_sessions_close,
    idle_sessions_warn,
)
from conversations.services.incoming import (
    IncomingMessage,
    RecordedMessage,
    chat_edit_incoming,
    chat_record_incoming,
    chat_record_incoming_many,
)
from conversations.services.notices import client_notify
from conversations.services.outbound import (
    Delivery,
    chat_retry_delivery,
    chat_send,
    deliveries_claim,
    delivery_claim_holds,
    delivery_claims_renew,
    delivery_due,
    delivery_mark_failed,
    delivery_mark_sent,
    delivery_progress,
    delivery_release,
    delivery_retry_later,
)
from conversations.services.sessions import (
    agent_console_seen,
    agent_presence_set,
    agent_presence_sweep,
    chat_mark_read,
    queue_drain,
    session_assign,
    session_end,
    session_end_for_client,
    session_transfer,
)

__all__ = [
    "CsatAnswer",
    "Delivery",
    "IdleAnswer",
    "IncomingMessage",
    "RecordedMessage",
    "Sender",
    "agent_console_seen",
    "agent_presence_set",
    "agent_presence_sweep",
    "chat_edit_incoming",
    "chat_file_url",
    "chat_mark_read",
    "chat_record_incoming",
    "chat_record_incoming_many",
    "chat_retry_delivery",
    "chat_send",
    "client_block",
    "client_hold_back_if_blocked",
    "client_is_blocked",
    "client_notify",
    "client_unblock",
    "csat_answer",
    "deliveries_claim",
    "delivery_claim_holds",
    "delivery_claims_renew",
    "delivery_due",
    "delivery_mark_failed",
    "delivery_mark_sent",
    "delivery_progress",
    "delivery_release",
    "delivery_retry_later",
    "idle_answer",
    "idle_sessions_check",
    "idle_sessions_close",
    "idle_sessions_warn",
    "queue_drain",
    "session_assign",
    "session_end",
    "session_end_for_client",
    "session_transfer",
]
