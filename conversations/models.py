"""Telegram clients, their sessions with agents, and the messages in them.

Table, column and index names follow the spec's database guide.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.ids import new_cuid


class Label(models.Model):
    """A tag admins define ("VIP", "refund") and agents put on clients."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    name = models.CharField(_("name"), max_length=64, unique=True)
    # "#rrggbb": the chip's colour in the workspace.
    color = models.CharField(_("colour"), max_length=7, default="#1f65c1")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "labels"
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A person writing to the bot, keyed by their Telegram user id."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    telegram_id = models.CharField(_("Telegram id"), max_length=191, unique=True)
    name = models.CharField(_("name"), max_length=191)
    username = models.CharField(_("username"), max_length=191, null=True, blank=True)  # noqa: DJ001 (spec: nullable)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The client's Telegram app language ("id", "en-GB"…): what the desk's own notices use.
    language_code = models.CharField(
        _("language"), max_length=16, blank=True, default="", db_default=""
    )
    # Set when Telegram answers 403 to a send (the client blocked the bot); cleared
    # when the client writes again. While set, agents' replies are refused.
    unreachable_since = models.DateTimeField(
        _("unreachable since"), null=True, blank=True, db_default=None, editable=False
    )
    labels = models.ManyToManyField(
        Label,
        related_name="clients",
        blank=True,
        db_table="client_labels",
        verbose_name=_("labels"),
    )
    # What agents keep about the person between conversations.
    profile_note = models.TextField(_("profile note"), blank=True, default="", db_default="")
    # Blocking: while `blocked` (and before `blocked_until`, when set) the client's
    # updates are confirmed to Telegram but open no session and store no chat.
    blocked = models.BooleanField(_("blocked"), default=False, db_default=False)
    blocked_until = models.DateTimeField(_("blocked until"), null=True, blank=True, db_default=None)
    block_reason = models.CharField(
        _("block reason"), max_length=255, blank=True, default="", db_default=""
    )
    # Messages not stored because of a block or a flood: what the admin sees held back.
    held_back_count = models.PositiveIntegerField(
        _("messages held back"), default=0, db_default=0, editable=False
    )
    # When the client was last told it cannot write now (at most one such notice a day).
    block_notice_at = models.DateTimeField(null=True, blank=True, db_default=None, editable=False)
    # Flood control: set while the client writes faster than FLOOD_MAX_MESSAGES per
    # FLOOD_WINDOW; the session shows "flooding" until then, and one notice is sent.
    flooding_until = models.DateTimeField(
        _("flooding until"), null=True, blank=True, db_default=None, editable=False
    )

    class Meta:
        db_table = "clients"
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (@{self.username})" if self.username else self.name

    @property
    def is_flooding(self) -> bool:
        """Writing faster than flood control allows, just now: agents see a mark."""
        # A client made in Python and not yet read back holds the database default here.
        until = self.flooding_until
        return isinstance(until, datetime) and until > timezone.now()


class Session(models.Model):
    """One conversation of a client, served by at most one agent at a time."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        ENDED = "ENDED", _("Ended")

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="sessions", db_column="client_id"
    )
    # SET_NULL: removing an agent must never remove conversation history.
    cs = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        db_column="cs_id",
        verbose_name=_("agent"),
    )
    status = models.CharField(_("status"), max_length=6, choices=Status, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # When its newest message was written (its creation until then): what lists order
    # by. Stored and indexed, because computing it per session scans every session;
    # kept current by the services that insert chats. Not in the spec: the database
    # default lets a writer that does not know it (the Node version) insert sessions.
    last_activity_at = models.DateTimeField(
        _("last activity"), default=timezone.now, db_default=Now(), editable=False
    )
    # When the oldest client message nobody has read yet arrived (NULL: none): the
    # "waiting longest" order. Stored and indexed for the same reason.
    unread_since = models.DateTimeField(_("unread since"), null=True, blank=True, editable=False)
    # Idle sessions: when the client was asked "Do you still need help?", and the
    # nonce its buttons carry (an old warning's buttons no longer match).
    idle_warned_at = models.DateTimeField(null=True, blank=True, db_default=None, editable=False)
    idle_warning_nonce = models.CharField(
        max_length=32, blank=True, default="", db_default="", editable=False
    )
    # Reports (#15), stored when they happen so a range is read, not recomputed: the
    # first assignment (queue wait), and the satisfaction survey sent at the end with
    # the nonce its buttons carry. NULL in Node-era rows until `backfill_measures`.
    first_assigned_at = models.DateTimeField(
        _("first assigned at"), null=True, blank=True, db_default=None, editable=False
    )
    csat_asked_at = models.DateTimeField(null=True, blank=True, db_default=None, editable=False)
    csat_nonce = models.CharField(
        max_length=32, blank=True, default="", db_default="", editable=False
    )
    # The client's id while ACTIVE, NULL once ENDED; unique, so the database itself
    # refuses a second ACTIVE session per client (MySQL has no partial unique index).
    active_client_id = models.GeneratedField(
        expression=models.Case(
            models.When(status="ACTIVE", then=models.F("client_id")),
            default=None,
            output_field=models.CharField(max_length=25),
        ),
        output_field=models.CharField(max_length=25, null=True),
        db_persist=True,
        unique=True,
        editable=False,
    )

    class Meta:
        db_table = "sessions"
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["client", "status"], name="idx_sessions_client_status"),
            # Agents' workloads and the waiting queue: read on every allocation, under
            # the agents' locks, so it must not scan every session ever held.
            models.Index(fields=["status", "cs"], name="idx_sessions_status_cs"),
            # The console's lists, newest activity first: all sessions, or one status.
            models.Index(fields=["last_activity_at", "id"], name="idx_sessions_activity"),
            models.Index(
                fields=["status", "last_activity_at", "id"], name="idx_sessions_status_activity"
            ),
            models.Index(fields=["unread_since", "id"], name="idx_sessions_unread_since"),
            # Reports read a date range of starts, ends and surveys.
            models.Index(fields=["created_at"], name="idx_sessions_created"),
            models.Index(fields=["ended_at"], name="idx_sessions_ended"),
            models.Index(fields=["csat_asked_at"], name="idx_sessions_csat_asked"),
        ]

    def __str__(self) -> str:
        return f"{self.client} · {self.get_status_display()} · {self.created_at:%Y-%m-%d %H:%M}"


class Chat(models.Model):
    """One message in a session, from the client, an agent, or the desk itself (a notice)."""

    class SenderType(models.TextChoices):
        CLIENT = "CLIENT", _("Client")
        CS = "CS", _("Agent")

    class DeliveryStatus(models.TextChoices):
        # Only agents' messages are delivered; clients' have "" here.
        PENDING = "PENDING", _("Pending")
        SENDING = "SENDING", _("Sending")
        SENT = "SENT", _("Sent")
        FAILED = "FAILED", _("Failed")

    # What the console's live pushes and the API show of a chat: the spec's columns
    # plus the delivery state; never Telegram's file id or the stored file's path.
    PUBLIC_FIELDS = (
        "id",
        "session_id",
        "sender_type",
        "message_type",
        "message",
        "file_url",
        "is_read",
        "created_at",
        "edited_at",
        "delivery_status",
        "delivery_error",
        "is_notice",
        "reply_to_message_id",
        "reply_quote",
        "media_group_id",
    )

    class MessageType(models.TextChoices):
        TEXT = "TEXT", _("Text")
        IMAGE = "IMAGE", _("Image")
        FILE = "FILE", _("File")
        VIDEO = "VIDEO", _("Video")
        LINK = "LINK", _("Link")

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="chats", db_column="session_id"
    )
    sender_type = models.CharField(_("sender"), max_length=6, choices=SenderType)
    message_type = models.CharField(
        _("type"), max_length=5, choices=MessageType, default=MessageType.TEXT
    )
    message = models.TextField(_("message"), blank=True)
    file_url = models.CharField(_("file URL"), max_length=191, null=True, blank=True)  # noqa: DJ001 (spec: nullable)
    is_read = models.BooleanField(_("read"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Telegram's id of the message in the client's chat: the key that stops a
    # redelivered update from being stored twice.
    telegram_message_id = models.BigIntegerField(_("Telegram message id"), null=True, blank=True)
    # Telegram's file id, resolved to bytes on demand; never a URL holding the bot token.
    telegram_file_id = models.CharField(
        _("Telegram file id"), max_length=255, blank=True, default="", db_default=""
    )
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    # The file's bytes when we hold them: an agent's upload, or a cached client file.
    local_file = models.FileField(
        _("stored file"), upload_to="chats/%Y/%m/", max_length=255, blank=True, db_default=""
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=7, choices=DeliveryStatus, blank=True, default="", db_default=""
    )
    delivery_error = models.CharField(
        _("delivery error"), max_length=255, blank=True, default="", db_default=""
    )
    delivery_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Parts of a long message Telegram already accepted, so a retry sends only the rest.
    delivery_parts_sent = models.PositiveSmallIntegerField(default=0, db_default=0)
    # PENDING: not before this time. SENDING: the worker's claim expires then.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The desk's own words to the client (greeting, queued, who answers…), sent as CS
    # but not written by an agent: shown apart, left out of previews and measures.
    # The database default keeps rows written without it (the Node version) valid.
    is_notice = models.BooleanField(_("bot notice"), default=False, db_default=False)
    # The Telegram message id (in the client's chat) this one answers, from either
    # side; NULL: not a reply. The quote keeps the answered text as Telegram showed
    # it, for when that message is not in our history.
    reply_to_message_id = models.BigIntegerField(
        _("reply to Telegram message id"), null=True, blank=True, db_default=None
    )
    reply_quote = models.CharField(
        _("quoted text"), max_length=255, blank=True, default="", db_default=""
    )
    # Telegram's album id: the parts of one album share it, each its own chat row.
    media_group_id = models.CharField(
        _("album id"), max_length=64, blank=True, default="", db_default=""
    )

    class Meta:
        db_table = "chats"
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["session", "created_at"], name="idx_chats_session_created"),
            models.Index(fields=["session", "sender_type", "is_read"], name="idx_chats_unread"),
            models.Index(fields=["delivery_status", "next_attempt_at"], name="idx_chats_delivery"),
            # Reports count a date range's messages in and out from this index alone.
            models.Index(
                fields=["created_at", "sender_type", "is_notice"], name="idx_chats_created_sender"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "sender_type", "telegram_message_id"],
                name="uniq_chats_telegram_message",
            ),
        ]

    def __str__(self) -> str:
        return self.message[:60] or self.get_message_type_display()


class ClientBlockEvent(models.Model):
    """Every block and unblock: who, when, why (the audit trail of requirement 14.5)."""

    class Action(models.TextChoices):
        BLOCK = "BLOCK", _("Blocked")
        UNBLOCK = "UNBLOCK", _("Unblocked")

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="block_events", db_column="client_id"
    )
    action = models.CharField(_("action"), max_length=7, choices=Action)
    # SET_NULL: removing an agent keeps the record of what it did.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_column="by_id",
        verbose_name=_("by"),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    until = models.DateTimeField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "client_block_events"
        verbose_name = _("block record")
        verbose_name_plural = _("block records")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "created_at"], name="idx_block_events_client")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.client} · {self.created_at:%Y-%m-%d %H:%M}"


class CannedResponse(models.Model):
    """A saved reply: shared (no owner, ADMIN-managed) or one agent's own."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    shortcut = models.CharField(_("shortcut"), max_length=32)
    title = models.CharField(_("title"), max_length=100)
    text_en = models.TextField(_("text (English)"))
    text_id = models.TextField(_("text (Indonesian)"), blank=True, default="")
    # NULL: shared with every agent. CASCADE: a personal reply goes with its agent.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        db_column="owner_id",
        verbose_name=_("owner"),
    )
    uses = models.PositiveIntegerField(_("uses"), default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "canned_responses"
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["shortcut"]
        indexes = [models.Index(fields=["owner", "shortcut"], name="idx_canned_owner_shortcut")]

    def __str__(self) -> str:
        return f"/{self.shortcut} · {self.title}"


class Note(models.Model):
    """An agent's private note in a session's history: never a chat, so no path that
    sends chats to Telegram can ever select one."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="notes", db_column="session_id"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_column="author_id",
        verbose_name=_("author"),
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "notes"
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["session", "created_at"], name="idx_notes_session_created")]

    def __str__(self) -> str:
        return self.text[:60]


class Mention(models.Model):
    """`@name` of an agent in a note: that agent is told, and may open the session."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="mentions")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "mentions"
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agent", "read_at"], name="idx_mentions_agent_read")]
        constraints = [
            models.UniqueConstraint(fields=["note", "agent"], name="uniq_mentions_note_agent")
        ]

    def __str__(self) -> str:
        return f"@{self.agent_id} in {self.note_id}"


class SessionAssignment(models.Model):
    """A session given to an agent (allocation, an admin's choice or a transfer) and
    that agent's first real reply after it: the first response time of reports, which
    starts again for the new agent at a transfer."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="assignments", db_column="session_id"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_column="agent_id",
        verbose_name=_("agent"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    first_reply_at = models.DateTimeField(_("first reply at"), null=True, blank=True)

    class Meta:
        db_table = "session_assignments"
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["assigned_at"]
        indexes = [
            models.Index(fields=["session", "assigned_at"], name="idx_assignments_session"),
            models.Index(fields=["assigned_at"], name="idx_assignments_assigned"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} → {self.agent_id} at {self.assigned_at:%Y-%m-%d %H:%M}"


class CsatRating(models.Model):
    """A client's answer to "How did we do?" (1 to 5), pressed in Telegram after a session
    ended, with an optional comment written within CSAT_COMMENT_WINDOW after it."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    session = models.OneToOneField(
        Session, on_delete=models.CASCADE, related_name="csat", db_column="session_id"
    )
    # The agent the session ended with, who is rated.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_column="agent_id",
        verbose_name=_("agent"),
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        db_table = "csat_ratings"
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="idx_csat_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="csat_rating_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 · {self.session_id}"
