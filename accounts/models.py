"""Agents (the spec's `users`) and their JWT refresh tokens (`refresh_tokens`).

Table and column names follow the spec's database guide, so a database laid out
by the original Node/Prisma version is usable as it is.
"""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.ids import new_cuid

# The Node version stored bare bcrypt hashes; Django's bcrypt hasher wants them prefixed.
NODE_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def password_hash_for_django(encoded: str) -> str:
    """`encoded` as Django's hashers read it: a Node-era bare bcrypt hash gets its prefix."""
    return f"bcrypt${encoded}" if encoded.startswith(NODE_BCRYPT_PREFIXES) else encoded


def language_choices() -> list[tuple[str, str]]:
    """The console's languages; a callable so migrations do not copy settings.LANGUAGES."""
    return [("", _("Browser default")), *settings.LANGUAGES]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # Rows written by the Node version may keep mixed-case emails.
        return self.get(email__iexact=email)

    def create_user(self, email: str, name: str, password: str | None = None, **extra) -> "User":
        user = self.model(email=self.normalize_email(email), name=name, **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, name: str, password: str | None = None, **extra):
        extra["role"] = User.Role.ADMIN
        return self.create_user(email, name, password, **extra)


class User(AbstractBaseUser):
    class Role(models.TextChoices):
        ADMIN = "ADMIN", _("Admin")
        CS = "CS", _("Customer service")

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    name = models.CharField(_("name"), max_length=191)
    email = models.EmailField(_("email"), max_length=191, unique=True)
    password = models.CharField(_("password"), max_length=255, db_column="password_hash")
    role = models.CharField(_("role"), max_length=5, choices=Role, default=Role.CS)
    status_online = models.BooleanField(_("online"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    # db_default: rows inserted by the Node version, which knows no such column, stay valid.
    is_active = models.BooleanField(
        _("active"), default=True, db_default=True, help_text=_("Inactive users cannot log in.")
    )
    # Breaks allocation ties: among equally busy agents, the one waiting longest goes first.
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)
    # While the agent's console is open this is kept fresh; once it is older than the
    # grace period the agent is taken offline. NULL: presence set outside the console.
    console_seen_at = models.DateTimeField(_("console last seen"), null=True, blank=True)
    # "" follows the browser (Accept-Language, then LANGUAGE_CODE). db_default as for is_active.
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        default="",
        db_default="",
        choices=language_choices,
        help_text=_("Language of the console; empty follows the browser."),
    )

    # The workspace's alerts for this agent: a sound, and desktop notifications (once
    # the browser grants them). db_default as for is_active.
    notify_sound = models.BooleanField(_("sound alerts"), default=True, db_default=True)
    notify_desktop = models.BooleanField(_("desktop notifications"), default=True, db_default=True)
    # The password hash last found to be none of the seed's published passwords: a
    # production start then verifies only new or changed hashes (each verification is a
    # deliberately slow Argon2 run). A copy of `password`, so exactly as secret.
    password_vetted = models.CharField(
        max_length=255, blank=True, default="", db_default="", editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        db_table = "users"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def clean(self) -> None:
        super().clean()
        # Lower-cased so uniqueness is case-insensitive on every database.
        self.email = self.email.strip().lower()

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    # The Django admin is for ADMIN users only, and they may do everything in it.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj=None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list, obj=None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    def _adopt_node_bcrypt_hash(self) -> None:
        self.password = password_hash_for_django(self.password)

    def check_password(self, raw_password: str) -> bool:
        # A match also re-hashes with Argon2 and saves, through Django's setter.
        self._adopt_node_bcrypt_hash()
        return super().check_password(raw_password)

    async def acheck_password(self, raw_password: str) -> bool:
        self._adopt_node_bcrypt_hash()
        return await super().acheck_password(raw_password)


class RefreshToken(models.Model):
    """A JWT refresh token, stored as a one-way hash in `token`."""

    id = models.CharField(primary_key=True, max_length=25, default=new_cuid, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="refresh_tokens", db_column="user_id"
    )
    token = models.CharField(_("token hash"), max_length=191, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # The login this token descends from (the id of that login's first token): reuse of
    # a rotated token revokes the whole chain. NULL on rows written by the Node version.
    family = models.CharField(_("login chain"), max_length=25, null=True, blank=True, db_index=True)  # noqa: DJ001 (NULL: rows the Node version inserts)

    class Meta:
        db_table = "refresh_tokens"
        verbose_name = _("refresh token")
        verbose_name_plural = _("refresh tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"
