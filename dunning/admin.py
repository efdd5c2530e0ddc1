from itertools import pairwise

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin import EvidenceAdminMixin, NoDeleteAdminMixin
from dunning.models import (
    CaseEvent,
    Channel,
    CollectionCase,
    CollectionTask,
    Communication,
    Dispute,
    DunningLevel,
    DunningPolicy,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    LevelCode,
    PromiseToPay,
)
from dunning.models.policy import OVERDUE_LEVELS


class DunningLevelForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = DunningLevel
        fields = [
            "code",
            "sequence",
            "days_offset",
            "channels",
            "email_template",
            "letter_template",
            "requires_approval",
        ]


class DunningLevelFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """Check the ladder as a whole: order of the rungs, pre-due offset, no duplicates."""
        super().clean()
        if any(self.errors):
            return
        levels = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        validate_ladder(
            levels=levels,
            pre_due_working_days=getattr(self.instance, "pre_due_working_days", None),
        )


def validate_ladder(*, levels: list[dict], pre_due_working_days: int | None) -> None:
    """Refuse a ladder whose overdue rungs are not in strictly increasing order of offset."""
    errors = []
    codes = [level["code"] for level in levels]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        errors.append(_("Each level appears once; repeated: %(codes)s.") % {"codes": duplicates})
    rungs = sorted(
        (level for level in levels if level["code"] in OVERDUE_LEVELS),
        key=lambda level: level["sequence"],
    )
    expected_order = [code for code in OVERDUE_LEVELS if code in codes]
    if [level["code"] for level in rungs] != expected_order:
        errors.append(
            _("The rungs must follow the order reminder, demand letter, executive, legal.")
        )
    offsets = [level["days_offset"] for level in rungs]
    if any(later <= earlier for earlier, later in pairwise(offsets)):
        errors.append(_("The days past due of the rungs must strictly increase."))
    if LevelCode.REMINDER not in codes:
        errors.append(_("The ladder needs a reminder rung."))
    for level in levels:
        if (
            level["code"] == LevelCode.PRE_DUE
            and pre_due_working_days
            and level["days_offset"] != -pre_due_working_days
        ):
            errors.append(
                _(
                    "The pre-due level's offset must be minus the policy's pre-due working "
                    "days (%(days)s)."
                )
                % {"days": -pre_due_working_days}
            )
        if level["code"] == LevelCode.PRE_DUE and any(
            other["code"] in OVERDUE_LEVELS and other["sequence"] < level["sequence"]
            for other in levels
        ):
            errors.append(_("The pre-due reminder comes before every overdue rung."))
    if errors:
        raise ValidationError(errors)


class DunningLevelInline(admin.TabularInline):
    model = DunningLevel
    form = DunningLevelForm
    formset = DunningLevelFormSet
    extra = 0
    ordering = ["sequence"]


@admin.register(DunningPolicy)
class DunningPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "is_active", "min_gap_days", "pre_due_working_days", "tolerance"]
    inlines = [DunningLevelInline]
    fieldsets = [
        (None, {"fields": ["name", "is_active"]}),
        (
            _("Ladder"),
            {
                "fields": [
                    "min_gap_days",
                    "pre_due_working_days",
                    "tolerance",
                    "promise_grace_days",
                    "letter_deadline_days",
                    "credit_hold_release",
                ]
            },
        ),
        (
            _("Default late-fee terms"),
            {
                "fields": [
                    "late_fee_rate_percent",
                    "late_fee_rate_period",
                    "late_fee_grace_days",
                    "late_fee_cap_percent",
                ]
            },
        ),
    ]


@admin.register(DunningRun)
class DunningRunAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["business_date", "status", "chunk_count", "repeat_count", "finished_at"]
    readonly_fields = [field.name for field in DunningRun._meta.fields]


@admin.register(DunningRunChunk)
class DunningRunChunkAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["run", "index", "status", "attempts", "communications_created"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in DunningRunChunk._meta.fields]


@admin.register(DunningStep)
class DunningStepAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "invoice", "instalment", "level", "fired_on", "communication"]
    list_filter = ["level", "fired_on"]
    search_fields = ["customer__code", "invoice__number"]
    readonly_fields = [field.name for field in DunningStep._meta.fields]


@admin.register(Communication)
class CommunicationAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = [
        "customer",
        "level",
        "currency",
        "business_date",
        "status",
        "failure_reason",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "level", "failure_reason"]
    search_fields = ["customer__code", "customer__name", "recipient_email"]
    readonly_fields = [field.name for field in Communication._meta.fields]


@admin.register(CollectionTask)
class CollectionTaskAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["display_title", "kind", "customer", "assignee", "due_date", "status"]
    list_filter = ["status", "kind"]
    search_fields = ["customer__code", "title"]
    readonly_fields = ["closed_reason"]


@admin.register(CollectionCase)
class CollectionCaseAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "status", "owner", "overdue_reason", "opened_on", "closed_on"]
    list_filter = ["status", "overdue_reason"]
    search_fields = ["customer__code", "customer__name"]
    readonly_fields = ["status", "opened_on", "closed_on", "closed_reason"]


@admin.register(Dispute)
class DisputeAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "status", "opened_on", "resolved_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "resolved_by", "resolved_at"]


@admin.register(PromiseToPay)
class PromiseToPayAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "amount", "currency", "promised_date", "status"]
    list_filter = ["status"]
    readonly_fields = ["status", "amount", "resolved_at"]


@admin.register(CaseEvent)
class CaseEventAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in CaseEvent._meta.fields]
