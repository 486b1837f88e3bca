"""Canned responses: saved replies an agent inserts with `/shortcut` in the reply box.

Shared ones (owner NULL) are an ADMIN's to manage; personal ones belong to one agent.
Who may change which is the caller's check (the API, the console, the Django admin);
here: what a valid canned response is, how it reads for one session, and its count.

Shortcuts are unique in what one agent sees, so `/refund` never means two things:
a personal shortcut may not repeat a shared one or the owner's other personal ones; a
shared shortcut may not repeat any existing shortcut, shared or anyone's personal.
(No database constraint can say this across NULL owners; two simultaneous saves of
one shortcut may both pass, which only shows two rows in the list.)

Variables are checked when saving, so an unknown `{variable}` or a stray brace is an
error the author sees, never a surprise in a client's chat. `{{` and `}}` write a
literal brace.
"""

import re
from string import Formatter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from accounts.models import User
from conversations.models import CannedResponse, Session

SHORTCUT_PATTERN = re.compile(r"^[a-z0-9_-]+$")
SHORTCUT_MAX_CHARS = 32
TITLE_MAX_CHARS = 100
# What one Telegram message holds: a canned text longer than that is split on send
# anyway, but a saved reply is meant to be short.
TEXT_MAX_CHARS = 4096
VARIABLES = ("client_name", "client_first_name", "agent_name")


def canned_text_variables_check(text: str) -> None:
    """Refuse a text whose braces do not parse or that names an unknown variable."""
    try:
        fields = [
            (name, spec, conversion) for _lit, name, spec, conversion in Formatter().parse(text)
        ]
    except ValueError:
        raise ValidationError(
            _(
                "A brace is not closed or not opened. Variables are written {client_name}; "
                "write {{ or }} for a brace itself."
            ),
            code="variable",
        ) from None
    known = ", ".join("{%s}" % v for v in VARIABLES)  # noqa: UP031 (braces in the text)
    for name, spec, conversion in fields:
        if name is None:
            continue
        if name not in VARIABLES or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ValidationError(
                _("Unknown variable %(variable)s. The variables are %(known)s.")
                % {"variable": shown, "known": known},
                code="variable",
            )


def _clean(*, shortcut: str, title: str, text_en: str, text_id: str) -> dict[str, str]:
    shortcut = shortcut.strip().lstrip("/").lower()
    title = " ".join(title.split())
    text_en = text_en.strip()
    text_id = text_id.strip()
    errors: dict[str, list[ValidationError]] = {}

    def refuse(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if not shortcut:
        refuse("shortcut", _("A canned response needs a shortcut."), "shortcut")
    elif len(shortcut) > SHORTCUT_MAX_CHARS or not SHORTCUT_PATTERN.match(shortcut):
        refuse(
            "shortcut",
            _("A shortcut is at most %(max)d lowercase letters, digits, - and _ (no spaces).")
            % {"max": SHORTCUT_MAX_CHARS},
            "shortcut",
        )
    if not title:
        refuse("title", _("A canned response needs a title."), "title")
    elif len(title) > TITLE_MAX_CHARS:
        refuse(
            "title",
            _("The title is too long (at most %(max)d characters).") % {"max": TITLE_MAX_CHARS},
            "title",
        )
    if not text_en:
        refuse("text_en", _("A canned response needs its English text."), "text_en")
    for field, text in (("text_en", text_en), ("text_id", text_id)):
        if len(text) > TEXT_MAX_CHARS:
            refuse(
                field,
                _("The text is too long (at most %(max)d characters).") % {"max": TEXT_MAX_CHARS},
                "too_long",
            )
            continue
        try:
            canned_text_variables_check(text)
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.error_list)
    if errors:
        raise ValidationError(errors)
    return {"shortcut": shortcut, "title": title, "text_en": text_en, "text_id": text_id}


def _shortcut_check_unique(*, shortcut: str, owner: User | None, exclude_id: str | None) -> None:
    others = CannedResponse.objects.filter(shortcut=shortcut)
    if owner is not None:
        others = others.filter(Q(owner__isnull=True) | Q(owner=owner))
    if exclude_id:
        others = others.exclude(pk=exclude_id)
    if others.exists():
        raise ValidationError(
            {
                "shortcut": ValidationError(
                    _("The shortcut /%(shortcut)s is already taken.") % {"shortcut": shortcut},
                    code="shortcut_taken",
                )
            }
        )


def canned_validate(
    *,
    shortcut: str,
    title: str,
    text_en: str,
    text_id: str = "",
    owner: User | None,
    exclude_id: str | None = None,
) -> dict[str, str]:
    """The cleaned fields, or a ValidationError by field (what the admin form shows)."""
    fields = _clean(shortcut=shortcut, title=title, text_en=text_en, text_id=text_id)
    _shortcut_check_unique(shortcut=fields["shortcut"], owner=owner, exclude_id=exclude_id)
    return fields


@transaction.atomic
def canned_create(
    *, shortcut: str, title: str, text_en: str, text_id: str = "", owner: User | None
) -> CannedResponse:
    """A new canned response: `owner` None makes it shared (the caller checked ADMIN)."""
    fields = canned_validate(
        shortcut=shortcut, title=title, text_en=text_en, text_id=text_id, owner=owner
    )
    return CannedResponse.objects.create(owner=owner, **fields)


@transaction.atomic
def canned_update(
    *,
    canned: CannedResponse,
    shortcut: str | None = None,
    title: str | None = None,
    text_en: str | None = None,
    text_id: str | None = None,
) -> CannedResponse:
    """Change the given fields (None keeps one); the owner never changes."""
    fields = canned_validate(
        shortcut=canned.shortcut if shortcut is None else shortcut,
        title=canned.title if title is None else title,
        text_en=canned.text_en if text_en is None else text_en,
        text_id=canned.text_id if text_id is None else text_id,
        owner=canned.owner,
        exclude_id=canned.pk,
    )
    for name, value in fields.items():
        setattr(canned, name, value)
    canned.save(update_fields=[*fields, "updated_at"])
    return canned


def canned_delete(*, canned: CannedResponse) -> None:
    canned.delete()


def canned_use(*, canned: CannedResponse) -> None:
    """Count one use, in the database (two agents at once both count)."""
    CannedResponse.objects.filter(pk=canned.pk).update(uses=F("uses") + 1)


def _fill(text: str, values: dict[str, str]) -> str:
    """Fill the variables; a text saved before the check (or by hand in the database)
    keeps what it cannot fill rather than failing the agent's reply."""
    try:
        parts = list(Formatter().parse(text))
    except ValueError:
        return text
    out: list[str] = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            out.append(values[name])
        else:
            out.append("{" + name + "}")
    return "".join(out)


def canned_text_for_language(*, canned: CannedResponse, language_code: str) -> str:
    """Indonesian for a Telegram app in Indonesian ("id", "id-ID") when there is one."""
    if (language_code or "").lower().startswith("id") and canned.text_id.strip():
        return canned.text_id
    return canned.text_en


def canned_render(*, canned: CannedResponse, session: Session, agent: User) -> str:
    """The text to send in `session`: the client's language, the variables filled in."""
    client = session.client
    name = (client.name or "").strip()
    values = {
        "client_name": name,
        "client_first_name": name.split()[0] if name else "",
        "agent_name": agent.name,
    }
    text = canned_text_for_language(canned=canned, language_code=client.language_code)
    return _fill(text, values)


# Reads (kept here with the rules they follow, not in conversations.selectors) -------------

CANNED_SUGGESTIONS = 10


def canned_visible_to(*, agent: User) -> QuerySet[CannedResponse]:
    """What `agent` may use: the shared ones and its own. Another agent's personal
    responses are invisible, to an ADMIN too (they are that agent's own)."""
    return CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner=agent))


def canned_get_for_agent(*, agent: User, canned_id: str) -> CannedResponse:
    """Raises CannedResponse.DoesNotExist alike for a missing or another agent's one."""
    return canned_visible_to(agent=agent).get(pk=canned_id)


def canned_search(*, agent: User, query: str = "") -> QuerySet[CannedResponse]:
    """The agent's canned responses matching `query`, best first, in one query.

    Ranked: shortcut starting with the query, then title containing it, then either
    text containing it; by shortcut within a rank.
    """
    canned = canned_visible_to(agent=agent)
    query = query.strip().lstrip("/")
    if not query:
        return canned.order_by("shortcut", "id")
    by_shortcut = Q(shortcut__startswith=query.lower())
    by_title = Q(title__icontains=query)
    by_text = Q(text_en__icontains=query) | Q(text_id__icontains=query)
    return (
        canned.filter(by_shortcut | by_title | by_text)
        .annotate(
            rank=Case(
                When(by_shortcut, then=Value(0)),
                When(by_title, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "shortcut", "id")
    )
