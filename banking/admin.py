from django.contrib import admin

from banking.models import (
    BankAccount,
    BankReceipt,
    BankStatementImport,
    ColumnProfile,
    CustomerAlias,
    CustomerPayerAccount,
    ReceiptClaim,
)
from banking.normalise import account_normalise, text_normalise


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ["code", "number", "currency", "name"]
    search_fields = ["code", "number", "name"]


@admin.register(ColumnProfile)
class ColumnProfileAdmin(admin.ModelAdmin):
    """Finance saves the column headers of a bank's export here."""

    list_display = ["name", "date_column", "credit_column", "transaction_id_column", "is_builtin"]
    readonly_fields = ["is_builtin"]


@admin.register(BankStatementImport)
class BankStatementImportAdmin(admin.ModelAdmin):
    list_display = ["imported_at", "bank_account", "file_name", "file_format", "new", "applied"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BankReceipt)
class BankReceiptAdmin(admin.ModelAdmin):
    """Receipts change only through the reconciliation services: read-only here."""

    list_display = ["date", "transaction_id", "amount", "currency", "payer_name", "status"]
    list_filter = ["status", "bank_account"]
    search_fields = ["transaction_id", "payer_name", "memo"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReceiptClaim)
class ReceiptClaimAdmin(admin.ModelAdmin):
    list_display = ["claimed_at", "receipt", "customer", "claimed_by", "status"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomerPayerAccount)
class CustomerPayerAccountAdmin(admin.ModelAdmin):
    list_display = ["customer", "account"]
    search_fields = ["account", "customer__code"]
    readonly_fields = ["account_key"]

    def save_model(self, request, obj, form, change) -> None:
        obj.account_key = account_normalise(obj.account)
        super().save_model(request, obj, form, change)


@admin.register(CustomerAlias)
class CustomerAliasAdmin(admin.ModelAdmin):
    list_display = ["customer", "alias"]
    search_fields = ["alias", "customer__code"]
    readonly_fields = ["alias_key"]

    def save_model(self, request, obj, form, change) -> None:
        obj.alias_key = text_normalise(obj.alias)
        super().save_model(request, obj, form, change)
