from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from receivables.models import Contact, Customer


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "sales_rep", "currency", "credit_limit", "credit_status"]
    list_filter = ["credit_status", "currency", "sales_rep"]
    search_fields = ["code", "name", "registration_number"]
    readonly_fields = ["credit_limit", "payment_terms_days", "credit_status"]
    inlines = [ContactInline]
