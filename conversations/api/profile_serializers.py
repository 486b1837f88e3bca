"""Shapes of the labels and client-profile API (issue 14, requirements 0 and 3)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from conversations.models import Client, Label
from conversations.services.profile import (
    COLOR_PATTERN,
    LABEL_NAME_MAX_CHARS,
    PROFILE_NOTE_MAX_CHARS,
)


class ErrorSerializer(serializers.Serializer):
    """The error shape of helpdesk.api_errors (the schema hook fills in the component)."""

    detail = serializers.CharField()
    code = serializers.CharField()


class LabelSerializer(serializers.ModelSerializer):
    color = serializers.RegexField(
        COLOR_PATTERN,
        max_length=7,
        help_text='"#rrggbb"',
        error_messages={"invalid": _('A colour is written "#rrggbb".')},
    )

    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = ["id"]
        # Uniqueness (whatever the case) is the service's to decide, in one place.
        extra_kwargs = {"name": {"validators": [], "max_length": LABEL_NAME_MAX_CHARS}}


class ClientProfileSerializer(serializers.ModelSerializer):
    labels = LabelSerializer(many=True, read_only=True)

    class Meta:
        model = Client
        fields = [
            "id",
            "telegram_id",
            "name",
            "username",
            "language_code",
            "created_at",
            "labels",
            "profile_note",
            "blocked",
            "blocked_until",
            "block_reason",
            "held_back_count",
        ]
        read_only_fields = fields


class ClientProfileUpdateSerializer(serializers.Serializer):
    """A PATCH: only the fields sent change (parse it with partial=True, so a form
    body without `blocked` does not read as `blocked: false`)."""

    labels = serializers.ListField(
        child=serializers.CharField(max_length=25),
        max_length=200,
        required=False,
        help_text="The client's labels, by id: replaces the list.",
    )
    profile_note = serializers.CharField(
        required=False, allow_blank=True, max_length=PROFILE_NOTE_MAX_CHARS
    )
    blocked = serializers.BooleanField(
        required=False,
        help_text="true blocks (with `block_reason`, `blocked_until`), false unblocks.",
    )
    blocked_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The block's end; null: until unblocked."
    )
    block_reason = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs: dict) -> dict:
        blocking = attrs.get("blocked") is True
        if not blocking and (attrs.get("blocked_until") or attrs.get("block_reason")):
            raise serializers.ValidationError(
                {"blocked": [_("A reason or an end goes with blocked: true.")]}
            )
        until = attrs.get("blocked_until")
        if blocking and until is not None and until <= timezone.now():
            raise serializers.ValidationError(
                {"blocked_until": [_("The end of a block must be in the future.")]}
            )
        return attrs
