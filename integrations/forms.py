from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.domain_events import EventType
from integrations.models import Robot


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )


class RobotForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    platform = forms.ChoiceField(label=_("Platform"), choices=Robot.Platform.choices)
    webhook_url = forms.URLField(label=_("Webhook URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        help_text=_("DingTalk's or Feishu's signing secret, when the robot has one."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    send_digest = forms.BooleanField(label=_("Morning digest"), required=False, initial=True)
    send_escalations = forms.BooleanField(
        label=_("Escalations at once"), required=False, initial=True
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Digests of"),
        queryset=get_user_model().objects.none(),
        required=False,
        help_text=_("Whose morning digest the robot carries; nobody means yours."),
    )

    def __init__(self, *args, team_lead: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if team_lead:
            self.fields["members"].queryset = (
                get_user_model().objects.filter(is_active=True).order_by("username")
            )
        else:
            del self.fields["members"]
