from datetime import date

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from statements.models import StatementSchedule


class StatementRequestForm(forms.Form):
    """A statement on demand: any period, PDF or XLSX, in either language."""

    FORMATS = (("pdf", "PDF"), ("xlsx", "XLSX"))
    LANGUAGES = (
        ("", _("The customer's language")),
        *((code, _(name)) for code, name in settings.LANGUAGES),
    )

    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS, initial="pdf")
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, required=False)

    def clean(self) -> dict:
        data = super().clean()
        start: date | None = data.get("date_from")
        end: date | None = data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The period ends before it starts."))
        if start and end and (end - start).days > 3 * 366:
            self.add_error("date_to", _("Ask for at most three years at a time."))
        return data


class StatementScheduleForm(forms.ModelForm):
    class Meta:
        model = StatementSchedule
        fields = ["frequency", "working_day", "send_at_zero_balance"]
