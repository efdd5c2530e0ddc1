from django.contrib import admin
from rest_framework_api_key.models import APIKey

from api.models import ApiToken, IdempotencyRecord

# The package's own key model is unused: keys here belong to users (ApiToken).
admin.site.unregister(APIKey)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by `api_token` or the token page (the key is shown only there)."""

    list_display = ["name", "user", "prefix", "created", "expiry_date", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "user", "name", "created", "last_used_at"]
    fields = ["name", "user", "prefix", "created", "expiry_date", "last_used_at", "revoked"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "endpoint", "key", "response_status"]
    search_fields = ["key", "endpoint", "user__username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
