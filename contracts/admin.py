"""Admin for contracts: browse and correct text; money, status and workflow stay read-only.

Contracts, milestones and delivery records are created and moved through
their workflow by the services (the contract pages), which check the rules.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Contract, DeliveryRecord, PaymentMilestone


class PaymentMilestoneInline(admin.TabularInline):
    model = PaymentMilestone
    extra = 0
    fields = [
        "sequence",
        "description",
        "percent",
        "trigger",
        "offset_days",
        "fixed_date",
        "trigger_date",
        "due_date",
        "invoice",
    ]
    readonly_fields = [
        "sequence",
        "percent",
        "trigger",
        "offset_days",
        "fixed_date",
        "trigger_date",
        "due_date",
        "invoice",
    ]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeliveryRecordInline(admin.TabularInline):
    model = DeliveryRecord
    extra = 0
    fields = ["kind", "occurred_on", "signer_name", "proof_original_name", "recorded_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(SimpleHistoryAdmin):
    list_display = ["number", "customer", "title", "currency", "amount", "status", "signed_date"]
    list_filter = ["status", "payment_type", "currency"]
    search_fields = ["number", "title", "customer__code", "customer__name"]
    list_select_related = ["customer"]
    readonly_fields = [
        "customer",
        "amount",
        "currency",
        "status",
        "signed_date",
        "credit_terms_days",
        "late_fee_rate_percent",
        "late_fee_rate_period",
        "late_fee_grace_days",
        "late_fee_cap_percent",
        "reviewed_by",
        "reviewed_at",
        "review_comment",
        "terms_approved_by",
        "terms_approval_reason",
        "created_by",
        "created_at",
    ]
    inlines = [PaymentMilestoneInline, DeliveryRecordInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DeliveryRecord)
class DeliveryRecordAdmin(SimpleHistoryAdmin):
    list_display = ["contract", "kind", "occurred_on", "signer_name", "recorded_by"]
    list_filter = ["kind"]
    search_fields = ["contract__number", "signer_name"]
    list_select_related = ["contract", "recorded_by"]
    # The proof is served by the contract page's scoped download, not a media URL.
    exclude = ["proof"]
    readonly_fields = [
        "contract",
        "kind",
        "occurred_on",
        "proof_original_name",
        "proof_content_type",
        "recorded_by",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False
