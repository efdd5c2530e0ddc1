from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from bills.models import AcceptanceBill
from receivables.admin import ReadOnlyAdminMixin


@admin.register(AcceptanceBill)
class AcceptanceBillAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Bills change only through their services; the admin shows them and their history."""

    list_display = [
        "number",
        "customer",
        "kind",
        "maturity_date",
        "face_amount",
        "currency",
        "status",
    ]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "customer__code", "customer__name", "acceptor"]
    date_hierarchy = "maturity_date"
    list_select_related = ["customer"]
