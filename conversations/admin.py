"""Admin for clients, sessions and chats: the product's "Prisma Studio" for conversations.

Every list selects the related rows it shows, so a page costs the same queries at any size.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from conversations.models import (
    CannedResponse,
    Chat,
    Client,
    ClientBlockEvent,
    CsatRating,
    Label,
    Note,
    Session,
)
from conversations.services.activity import sessions_recount_activity
from conversations.services.canned import canned_validate
from conversations.services.profile import COLOR_PATTERN


class LabelAdminForm(forms.ModelForm):
    # The workspace writes the colour into a chip's style: only "#rrggbb" may pass.
    color = forms.RegexField(
        label=_("colour"),
        regex=COLOR_PATTERN,
        max_length=7,
        error_messages={"invalid": _('A colour is written "#rrggbb".')},
    )

    class Meta:
        model = Label
        fields = ("name", "color")

    def clean_color(self) -> str:
        return self.cleaned_data["color"].lower()


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    form = LabelAdminForm
    list_display = ("name", "color", "client_count", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request):
        # One COUNT per page, not one per label.
        return super().get_queryset(request).annotate(client_count=Count("clients"))

    @admin.display(description=_("clients"), ordering="client_count")
    def client_count(self, obj: Label) -> int:
        return obj.client_count


class ReadOnlyInline(admin.TabularInline):
    """A record shown as it was written: nobody adds, edits or deletes it here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ClientBlockEventInline(ReadOnlyInline):
    """Every block and unblock of the client, newest first: the audit trail."""

    model = ClientBlockEvent
    fields = ("created_at", "action", "by", "reason", "until")
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "username",
        "telegram_id",
        "blocked",
        "blocked_until",
        "held_back_count",
        "created_at",
    )
    list_filter = ("blocked", "labels")
    search_fields = ("telegram_id", "name", "username")
    filter_horizontal = ("labels",)
    # Blocking goes through the console or the API (client_block records who and why).
    readonly_fields = (
        "blocked",
        "blocked_until",
        "block_reason",
        "held_back_count",
        "flooding_until",
    )
    inlines = (ClientBlockEventInline,)
    fieldsets = (
        (None, {"fields": ("telegram_id", "name", "username", "language_code", "created_at")}),
        (_("Profile"), {"fields": ("labels", "profile_note")}),
        (
            _("Blocking"),
            {
                "fields": (
                    "blocked",
                    "blocked_until",
                    "block_reason",
                    "held_back_count",
                    "flooding_until",
                )
            },
        ),
    )


class ChatInline(admin.TabularInline):
    """A session's messages, oldest first, as the conversation reads."""

    model = Chat
    fields = ("sender_type", "message_type", "message", "file_url", "is_read", "created_at")
    ordering = ("created_at",)
    extra = 0


class NoteInline(ReadOnlyInline):
    """The agents' private notes beside the conversation: an admin reads them here,
    and nobody rewrites what a colleague noted."""

    model = Note
    fields = ("author", "text", "created_at")
    ordering = ("created_at",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("client", "cs", "status", "created_at", "ended_at")
    # Only agents that served a session, not every user, are offered as filter choices.
    list_filter = ("status", ("cs", admin.RelatedOnlyFieldListFilter))
    search_fields = ("client__name", "client__username", "client__telegram_id")
    list_select_related = ["client", "cs"]
    autocomplete_fields = ("client", "cs")
    date_hierarchy = "created_at"
    inlines = [ChatInline, NoteInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Chats edited here bypass the services that keep the lists' keys current.
        sessions_recount_activity(session_ids=[form.instance.pk])


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ("preview", "client", "sender_type", "message_type", "is_read", "created_at")
    list_filter = ("sender_type", "message_type", "is_read")
    search_fields = ("message",)
    list_select_related = ["session__client"]
    raw_id_fields = ("session",)
    ordering = ("-created_at",)

    def save_model(self, request, obj: Chat, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Both sessions when the chat was moved from one to another.
        moved_from = form.initial.get("session")
        sessions_recount_activity(session_ids={obj.session_id, moved_from} - {None})

    def delete_model(self, request, obj: Chat) -> None:
        super().delete_model(request, obj)
        sessions_recount_activity(session_ids=[obj.session_id])

    def delete_queryset(self, request, queryset) -> None:
        session_ids = set(queryset.values_list("session_id", flat=True))
        super().delete_queryset(request, queryset)
        sessions_recount_activity(session_ids=session_ids)

    @admin.display(description=_("message"))
    def preview(self, obj: Chat) -> str:
        # Media messages may have no text; their type says more than a blank cell.
        return Truncator(obj.message).chars(80) or obj.get_message_type_display()

    @admin.display(description=_("client"), ordering="session__client__name")
    def client(self, obj: Chat) -> Client:
        return obj.session.client


class CannedResponseAdminForm(forms.ModelForm):
    """Saved through the same rules as the API and the console (canned_validate):
    the shortcut's form and uniqueness, and only known {variables}."""

    class Meta:
        model = CannedResponse
        fields = ("shortcut", "title", "text_en", "text_id", "owner")

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        fields = canned_validate(
            shortcut=cleaned.get("shortcut", ""),
            title=cleaned.get("title", ""),
            text_en=cleaned.get("text_en", ""),
            text_id=cleaned.get("text_id", ""),
            owner=cleaned.get("owner"),
            exclude_id=None if self.instance._state.adding else self.instance.pk,
        )
        cleaned.update(fields)
        return cleaned


class CannedOwnerFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("shared", _("shared")), ("personal", _("personal"))]

    def queryset(self, request, queryset):
        if self.value() == "shared":
            return queryset.filter(owner__isnull=True)
        if self.value() == "personal":
            return queryset.filter(owner__isnull=False)
        return queryset


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    """Shared responses (no owner) are managed here; agents' personal ones can be
    seen and corrected too."""

    form = CannedResponseAdminForm
    list_display = ("shortcut", "title", "owner_display", "uses", "updated_at")
    list_filter = (CannedOwnerFilter,)
    search_fields = ("shortcut", "title", "text_en", "text_id")
    list_select_related = ["owner"]
    readonly_fields = ("uses", "created_at", "updated_at")
    ordering = ("shortcut",)

    @admin.display(description=_("owner"), ordering="owner__name")
    def owner_display(self, obj: CannedResponse) -> str:
        return str(obj.owner) if obj.owner_id else _("shared")


@admin.register(CsatRating)
class CsatRatingAdmin(admin.ModelAdmin):
    """Clients' ratings as they gave them, read-only: nobody edits what a client said."""

    list_display = ("session", "agent", "rating", "comment_preview", "created_at")
    list_filter = ("rating", ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("comment", "session__client__name", "session__client__username")
    list_select_related = ["session__client", "agent"]
    fields = ("session", "agent", "rating", "comment", "created_at")
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("comment"))
    def comment_preview(self, obj: CsatRating) -> str:
        return Truncator(obj.comment).chars(80)
