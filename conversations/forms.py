"""Forms of the agent console: they parse input; services decide."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Session
from conversations.selectors import LIST_ORDERS, agent_list


class EmailLoginForm(AuthenticationForm):
    """Django's login form, asking for an email (matched case-insensitively by the manager)."""

    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class SessionFilterForm(forms.Form):
    """The list's query string; an invalid value is dropped rather than an error."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Session.Status.choices]
    )
    cs = forms.ChoiceField(label=_("Agent"), required=False)
    q = forms.CharField(label=_("Client"), required=False, max_length=191)
    # A label's id; its choices come with the list's filter form (console:label_options).
    label = forms.CharField(label=_("Label"), required=False, max_length=25)
    order = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[("activity", _("Newest activity")), ("waiting", _("Waiting longest"))],
    )

    def __init__(self, *args, agents: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cs"].choices = [("", _("All agents"))] + [(a.pk, a.name) for a in agents]

    def filters(self) -> dict:
        """Return the valid filters as `session_list_for_agent` keywords."""
        self.is_valid()
        data = self.cleaned_data
        order = data.get("order") or "activity"
        return {
            "status": data.get("status") or None,
            "cs_id": data.get("cs") or None,
            "q": data.get("q") or None,
            "label_id": data.get("label") or None,
            "order": order if order in LIST_ORDERS else "activity",
        }


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"),
        required=False,
        max_length=REPLY_MAX_CHARS,  # as the API's; the textarea gets it as `maxlength`
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file = forms.FileField(label=_("Attach a file"), required=False)
    # The id of the chat this reply answers; the service checks it is this session's.
    reply_to = forms.CharField(
        required=False, max_length=25, widget=forms.HiddenInput(attrs={"id": "reply-to-id"})
    )


class AgentChoiceForm(forms.Form):
    """Pick a CS agent: the target of an assignment or a transfer."""

    agent = forms.ModelChoiceField(label=_("Agent"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any CS here: the service, under its locks, refuses offline or inactive ones.
        self.fields["agent"].queryset = agent_list()


class PresenceForm(forms.Form):
    online = forms.BooleanField(required=False)
