"""Admin for agents and their refresh tokens: the product's "Prisma Studio" for accounts."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import RefreshToken, User
from accounts.services import refresh_token_revoke


class UserCreationForm(AdminUserCreationForm):
    # Agents only log in with a password, so "password-based authentication: disabled"
    # would create an account nobody can use.
    usable_password = None

    class Meta:
        model = User
        fields = ("email", "name", "role")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "name", "role", "status_online", "is_active", "language")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin without username, groups and permissions: `role` grants access."""

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("name", "role", "status_online", "language")}),
        (_("Access"), {"fields": ("is_active",)}),
        (_("Important dates"), {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "created_at")
    list_display = ("name", "email", "role", "status_online", "is_active", "created_at")
    list_filter = ("role", "status_online", "is_active")
    search_fields = ("name", "email")
    ordering = ("name",)
    filter_horizontal = ()


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by the API only; here they can be inspected and revoked.

    Deleting stays allowed: without it the admin would refuse to delete a user who has tokens.
    """

    list_display = ("user", "created_at", "expires_at", "revoked_at")
    list_select_related = ["user"]
    search_fields = ("user__email",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RefreshToken | None = None) -> bool:
        return False

    @admin.action(description=_("Revoke selected refresh tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[RefreshToken]) -> None:
        count = refresh_token_revoke(tokens=queryset)
        self.message_user(
            request,
            ngettext("%(count)d refresh token revoked.", "%(count)d refresh tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )
