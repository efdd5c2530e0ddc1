from django.contrib import admin

from integrations.models import OutboundEvent, Robot, WebhookDelivery, WebhookSubscription


@admin.register(OutboundEvent)
class OutboundEventAdmin(admin.ModelAdmin):
    list_display = ["type", "event_id", "created_at", "fanned_out_at"]
    list_filter = ["type"]
    readonly_fields = ["event_id", "type", "params", "customer", "created_at", "fanned_out_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "consecutive_failures", "disabled_at"]
    exclude = ["secret"]
    readonly_fields = [
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_by",
    ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "status", "attempts", "last_status_code"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Robot)
class RobotAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "owner", "is_active", "blocked_until"]
    list_filter = ["platform", "is_active"]
    exclude = ["secret"]
