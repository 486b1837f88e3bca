"""Shapes of the sessions API; field names follow the spec's columns."""

from rest_framework import serializers

from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Chat, Client, Session


class ClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "telegram_id", "name", "username"]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    client_id = serializers.CharField(read_only=True)
    cs_id = serializers.CharField(read_only=True, allow_null=True)
    client = ClientSerializer(read_only=True)

    class Meta:
        model = Session
        fields = ["id", "client_id", "cs_id", "status", "created_at", "ended_at", "client"]
        read_only_fields = fields


class SessionListSerializer(SessionSerializer):
    """A list row: also the unread count and the last message (annotated by the selector)."""

    unread_count = serializers.IntegerField(read_only=True)
    last_message = serializers.CharField(read_only=True, allow_null=True)
    last_message_type = serializers.ChoiceField(
        choices=Chat.MessageType.choices, read_only=True, allow_null=True
    )
    last_message_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(SessionSerializer.Meta):
        fields = [
            *SessionSerializer.Meta.fields,
            "unread_count",
            "last_message",
            "last_message_type",
            "last_message_at",
        ]
        read_only_fields = fields


class ChatSerializer(serializers.ModelSerializer):
    """A message; `delivery_status` is "" for the client's messages, else the agent's
    reply's progress (PENDING → SENDING → SENT, or FAILED with `delivery_error`)."""

    session_id = serializers.CharField(read_only=True)
    delivery_status = serializers.ChoiceField(
        choices=Chat.DeliveryStatus.choices, allow_blank=True, read_only=True
    )
    is_notice = serializers.BooleanField(
        read_only=True,
        help_text=(
            "True for the desk's own words to the client (greeting, queue place, who "
            "answers, ended…): sent as CS, but not written by an agent."
        ),
    )

    class Meta:
        model = Chat
        fields = Chat.PUBLIC_FIELDS
        read_only_fields = fields


class SessionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Session.Status.choices, required=False)


class ChatSendSerializer(serializers.Serializer):
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=REPLY_MAX_CHARS, trim_whitespace=False
    )
    reply_to = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=25,
        help_text=(
            "The id of a chat of this session that reached Telegram (it is answered as a "
            "Telegram reply); another session's chat, or one not yet sent, is a 400 with "
            'code "reply_target".'
        ),
    )


class ChatSendMultipartSerializer(ChatSendSerializer):
    file = serializers.FileField(required=False)


class TransferSerializer(serializers.Serializer):
    cs_id = serializers.CharField(max_length=25)


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many of the client's messages changed.")
