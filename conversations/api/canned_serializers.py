"""Shapes of the canned-responses API (issue 14, requirements 0 and 1)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations.models import CannedResponse
from conversations.services.canned import (
    SHORTCUT_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
)


class CannedResponseSerializer(serializers.ModelSerializer):
    """A canned response as the caller sees it. `personal` is from the caller's side:
    true for its own, false for a shared one (only an ADMIN writes those)."""

    personal = serializers.SerializerMethodField()

    class Meta:
        model = CannedResponse
        fields = ["id", "shortcut", "title", "text_en", "text_id", "personal", "uses"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_personal(self, canned: CannedResponse) -> bool:
        return canned.owner_id is not None


class RenderedCannedResponseSerializer(CannedResponseSerializer):
    """With `?session=`: also its text for that session."""

    rendered = serializers.SerializerMethodField(
        help_text="The text for the session: the client's language, variables filled in."
    )

    class Meta(CannedResponseSerializer.Meta):
        fields = [*CannedResponseSerializer.Meta.fields, "rendered"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_rendered(self, canned: CannedResponse) -> str:
        return self.context["render"](canned)


class CannedResponseWriteSerializer(serializers.Serializer):
    """What a caller sends; the service checks the shortcut and the variables."""

    shortcut = serializers.CharField(
        max_length=SHORTCUT_MAX_CHARS + 1,
        help_text="Lowercase letters, digits, - and _; typed as /shortcut in the reply box.",
    )
    title = serializers.CharField(max_length=TITLE_MAX_CHARS * 2)
    text_en = serializers.CharField(
        max_length=TEXT_MAX_CHARS * 2,
        help_text="May use {client_name}, {client_first_name}, {agent_name}.",
    )
    text_id = serializers.CharField(
        max_length=TEXT_MAX_CHARS * 2,
        required=False,
        allow_blank=True,
        help_text="Indonesian; empty: Indonesian clients get the English text.",
    )
    personal = serializers.BooleanField(
        required=False,
        default=True,
        help_text="true: the caller's own; false: shared with every agent (ADMIN only). "
        "Set when creating; cannot change later.",
    )


class CannedQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    session = serializers.CharField(
        required=False,
        max_length=25,
        help_text="A session the caller may see: each item then carries `rendered`.",
    )
