from django.contrib import admin

from statements.models import Statement, StatementSchedule


@admin.register(StatementSchedule)
class StatementScheduleAdmin(admin.ModelAdmin):
    list_display = ["customer", "frequency", "working_day", "send_at_zero_balance"]
    list_filter = ["frequency"]
    search_fields = ["customer__code", "customer__name"]
    raw_id_fields = ["customer"]


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    """Read-only: the services move statements on (finance retries on the desk)."""

    list_display = [
        "customer",
        "period_start",
        "status",
        "failure_reason",
        "delivery_state",
        "closing",
        "currency",
        "sent_at",
    ]
    list_filter = ["status", "failure_reason", "delivery_state", "period_start"]
    search_fields = ["customer__code", "customer__name", "recipient_email"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
