from django import forms
from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.exceptions import BusinessRuleError
from receivables.models import (
    Contact,
    CreditAssessment,
    CreditGrade,
    CreditHoldEvent,
    CreditOverride,
    CreditPolicy,
    Customer,
)
from receivables.services.customers import contact_clean, contact_save


class ReadOnlyAdminMixin:
    """Records written by the services only: the admin shows them, never edits them."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _contact_save(request: HttpRequest, contact: Contact) -> None:
    """An edit in the admin follows the same rule as one in the app: a changed address is no
    longer bounced, and the task to fix it closes."""
    old_email = (
        Contact.objects.filter(pk=contact.pk).values_list("email", flat=True).first()
        if contact.pk
        else None
    )
    contact_clean(contact)
    contact_save(contact=contact, old_email=old_email, actor=request.user)


class ContactAdminForm(forms.ModelForm):
    """Refuses what the app refuses (`contact_clean`), as field errors on the admin's form."""

    class Meta:
        model = Contact
        fields = ["customer", "name", "role", "email", "phone", "im_handle", "email_bounced_at"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # the fields' own errors first
        candidate = Contact(
            **{
                field: cleaned.get(field, getattr(self.instance, field))
                for field in ("name", "role", "email", "phone", "im_handle")
            }
        )
        try:
            contact_clean(candidate)
        except BusinessRuleError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


class ContactInline(admin.TabularInline):
    model = Contact
    form = ContactAdminForm
    extra = 0


class CreditAssessmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditAssessment
    fields = [
        "status",
        "score",
        "grade",
        "requested_limit",
        "requested_terms_days",
        "approved_limit",
        "approved_terms_days",
        "requested_by",
        "decided_by",
    ]
    readonly_fields = fields
    extra = 0
    show_change_link = True


class CreditHoldEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditHoldEvent
    fields = ["created_at", "action", "source", "actor", "reason"]
    readonly_fields = fields
    extra = 0


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "sales_rep",
        "currency",
        "credit_limit",
        "payment_terms_days",
        "credit_status",
        "is_new",
    ]
    list_filter = ["credit_status", "is_new", "currency", "sales_rep"]
    search_fields = ["code", "name", "registration_number"]
    # Limit and terms change only through approved assessments, status through holds.
    readonly_fields = ["credit_limit", "payment_terms_days", "credit_status"]
    inlines = [ContactInline, CreditAssessmentInline, CreditHoldEventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None):
        # Code and currency stay as created, as in the app: the limit, the invoices and the
        # plans' instalments are in that currency.
        created = ["code", "currency"] if obj is not None else []
        return [*created, *self.readonly_fields]

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Contact:
            super().save_formset(request, form, formset, change)
            return
        contacts = formset.save(commit=False)
        for contact in formset.deleted_objects:
            contact.delete()
        for contact in contacts:
            _contact_save(request, contact)
        formset.save_m2m()


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "customer", "role", "email", "phone", "im_handle"]
    list_filter = ["role"]
    search_fields = ["name", "email", "customer__code", "customer__name"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    form = ContactAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None):
        # A contact stays with its customer (its tasks and messages do): someone who moved
        # is added to the other customer.
        return ["customer"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Contact, form, change: bool) -> None:
        _contact_save(request, obj)


@admin.register(CreditAssessment)
class CreditAssessmentAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """The workflow runs in the app (segregation of duties); the admin only shows it."""

    list_display = [
        "__str__",
        "customer",
        "status",
        "score",
        "grade",
        "requested_limit",
        "approved_limit",
        "requested_by",
        "decided_by",
        "submitted_at",
    ]
    list_filter = ["status", "grade"]
    search_fields = ["customer__code", "customer__name"]
    list_select_related = ["customer", "requested_by", "decided_by"]
    date_hierarchy = "created_at"


@admin.register(CreditPolicy)
class CreditPolicyAdmin(SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "new_customer_max_limit",
        "new_customer_max_terms_days",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CreditPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CreditGrade)
class CreditGradeAdmin(SimpleHistoryAdmin):
    list_display = ["grade", "min_score", "max_limit", "max_terms_days", "description"]
    readonly_fields = ["grade"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CreditOverride)
class CreditOverrideAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "actor",
        "reference",
        "amount",
        "currency",
        "exposure",
        "credit_limit",
    ]
    list_filter = ["currency"]
    search_fields = ["customer__code", "customer__name", "reference", "reason"]
    list_select_related = ["customer", "actor"]


@admin.register(CreditHoldEvent)
class CreditHoldEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "customer", "action", "source", "actor", "reason"]
    list_filter = ["action", "source"]
    search_fields = ["customer__code", "customer__name", "reason"]
    list_select_related = ["customer", "actor"]
