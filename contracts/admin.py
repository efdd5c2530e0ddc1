"""Admin for contracts: a read-only view with history.

Contracts, milestones and delivery records change only through the services
behind the contract pages, which enforce the review workflow, the 100 % rule
and the file checks; the admin shows them and their history.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Contract, DeliveryRecord, PaymentMilestone


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PaymentMilestoneInline(ReadOnlyMixin, admin.TabularInline):
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


class DeliveryRecordInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryRecord
    extra = 0
    fields = ["kind", "occurred_on", "signer_name", "proof_original_name", "recorded_by"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "title", "currency", "amount", "status", "signed_date"]
    list_filter = ["status", "payment_type", "currency"]
    search_fields = ["number", "title", "customer__code", "customer__name"]
    list_select_related = ["customer"]
    inlines = [PaymentMilestoneInline, DeliveryRecordInline]


@admin.register(DeliveryRecord)
class DeliveryRecordAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["contract", "kind", "occurred_on", "signer_name", "recorded_by"]
    list_filter = ["kind"]
    search_fields = ["contract__number", "signer_name"]
    list_select_related = ["contract", "recorded_by"]
    # The proof is served by the contract page's scoped download, never by a media URL.
    exclude = ["proof"]
