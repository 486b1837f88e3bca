"""The client's profile: labels agents put on clients, and a free-text note kept
between conversations; and the labels themselves, which admins define.

Who may edit a client is the caller's check (`client_get_for_agent`): the same rule
as opening its sessions. Here: what a valid profile and a valid label are.
"""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from conversations.models import Client, Label

# A note is read in the client pane: long enough for a history, bounded so one
# client cannot fill the pane (or the table) with megabytes.
PROFILE_NOTE_MAX_CHARS = 4000
LABEL_NAME_MAX_CHARS = 64
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


def labels_from_ids(*, ids: list[str]) -> list[Label]:
    """The labels named by `ids`, in one query; an unknown id is a ValidationError.

    A label deleted while an agent edited the form is refused rather than silently
    dropped, so the agent sees that the profile is not what they chose.
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    found = Label.objects.in_bulk(wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ValidationError(
            _("No such label: %(ids)s.") % {"ids": ", ".join(missing)}, code="label"
        )
    return [found[i] for i in wanted]


@transaction.atomic
def client_profile_update(
    *,
    client: Client,
    by: User,
    labels: list[Label] | None = None,
    profile_note: str | None = None,
) -> Client:
    """Set the client's labels and/or note; None leaves that part as it is.

    `by` is the agent who edits (the caller has checked it may see the client).
    """
    if profile_note is not None:
        profile_note = profile_note.strip()
        if len(profile_note) > PROFILE_NOTE_MAX_CHARS:
            raise ValidationError(
                _("The profile note is too long (at most %(max)d characters).")
                % {"max": PROFILE_NOTE_MAX_CHARS},
                code="profile_note",
            )
        client.profile_note = profile_note
        client.save(update_fields=["profile_note"])
    if labels is not None:
        client.labels.set(labels)
        # Drop a prefetched list so the caller renders what was stored.
        client._prefetched_objects_cache = {}
    return client


def _label_clean(*, name: str, color: str) -> tuple[str, str]:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("A label needs a name."), code="name")
    if len(name) > LABEL_NAME_MAX_CHARS:
        raise ValidationError(
            _("The name is too long (at most %(max)d characters).") % {"max": LABEL_NAME_MAX_CHARS},
            code="name",
        )
    if not COLOR_PATTERN.match(color):
        raise ValidationError(_('A colour is written "#rrggbb".'), code="color")
    return name, color.lower()


def _label_save(label: Label) -> Label:
    taken = Label.objects.filter(name__iexact=label.name).exclude(pk=label.pk).exists()
    if taken:
        raise ValidationError(_("A label with this name exists."), code="name")
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:  # the same name saved at the same moment
        raise ValidationError(_("A label with this name exists."), code="name") from None
    return label


def label_create(*, name: str, color: str = "#1f65c1") -> Label:
    """A new label; names are unique whatever their case ("VIP" and "vip" are one)."""
    name, color = _label_clean(name=name, color=color)
    return _label_save(Label(name=name, color=color))


def label_update(*, label: Label, name: str | None = None, color: str | None = None) -> Label:
    name, color = _label_clean(
        name=label.name if name is None else name, color=label.color if color is None else color
    )
    label.name, label.color = name, color
    return _label_save(label)


def label_delete(*, label: Label) -> None:
    """Remove the label, and with it from every client (the M2M rows cascade)."""
    label.delete()
