"""The portal's rows in the admin: evidence, shown and never edited (tokens are never shown)."""

from django.contrib import admin

from core.admin import EvidenceAdminMixin
from portal.models import (
    BalanceConfirmation,
    ConfirmationReminder,
    DocumentRequest,
    PortalAction,
    PortalDisputeAttachment,
    PortalLink,
)


@admin.register(PortalLink)
class PortalLinkAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "as_of", "created_at", "expires_at", "revoked_at"]
    list_filter = ["as_of"]
    exclude = ["token_hash"]
    raw_id_fields = ["customer", "communication"]


@admin.register(PortalAction)
class PortalActionAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "kind", "as_of", "contact_name", "created_at"]
    list_filter = ["kind"]


@admin.register(BalanceConfirmation)
class BalanceConfirmationAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "as_of", "currency", "balance", "name", "position", "confirmed_at"]
    list_filter = ["as_of"]


@admin.register(PortalDisputeAttachment)
class PortalDisputeAttachmentAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["dispute", "original_name", "created_at"]


@admin.register(DocumentRequest)
class DocumentRequestAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "document", "invoice", "status", "created_at"]
    list_filter = ["status", "document"]


@admin.register(ConfirmationReminder)
class ConfirmationReminderAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "as_of", "business_date", "task"]
