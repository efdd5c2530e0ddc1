"""Shapes of customers, invoices, payments and credit notes; the services decide."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from api.fields import (
    BusinessDateField,
    MoneyField,
    MoneyInputField,
    ScopedPrimaryKeyField,
    choice_or_blank,
)
from receivables.models import Contact, CreditNote, Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.balances import KEYS


class ContactSerializer(serializers.ModelSerializer):
    # May be empty: text, not an email format.
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "role", "email", "phone", "im_handle"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    sales_rep = serializers.CharField(source="sales_rep.username", read_only=True)
    credit_limit = MoneyField()
    open_receivables = MoneyField(source="balance_open")
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "industry",
            "registration_number",
            "address",
            "currency",
            "language",
            "sales_rep",
            "credit_limit",
            "payment_terms_days",
            "credit_status",
            "is_new",
            "dunning_paused_until",
            "open_receivables",
            "contacts",
        ]
        read_only_fields = fields


class CustomerCreateSerializer(serializers.Serializer):
    """A new customer: a rep owns it; finance and managers name the owning rep."""

    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    industry = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    registration_number = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True
    )
    address = serializers.CharField(required=False, default="", allow_blank=True, max_length=1000)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3, required=False)
    language = serializers.ChoiceField(
        choices=Customer.Language.choices, required=False, default=Customer.Language.CHINESE
    )
    sales_rep = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
    )


class InvoiceSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    sales_rep = serializers.CharField(source="customer.sales_rep.username", read_only=True)
    amount = MoneyField()
    outstanding = MoneyField()
    delivery_method = choice_or_blank(Invoice.DeliveryMethod.choices)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "customer",
            "customer_code",
            "sales_rep",
            "issue_date",
            "due_date",
            "amount",
            "outstanding",
            "currency",
            "status",
            "contract_number",
            "delivery_method",
            "tracking_number",
            "delivered_at",
            "receipt_confirmed_by",
            "receipt_confirmed_at",
            "cancelled_at",
            "cancellation_reason",
        ]
        read_only_fields = fields


class InvoiceCreateSerializer(serializers.Serializer):
    """Issue an invoice (the credit check applies; finance may override it with a reason)."""

    customer = ScopedPrimaryKeyField(queryset=Customer.objects.none())
    number = serializers.CharField(max_length=64)
    issue_date = BusinessDateField()
    due_date = BusinessDateField()
    amount = MoneyInputField()
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    contract_number = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True
    )
    credit_override_reason = serializers.CharField(
        max_length=1000, required=False, default="", allow_blank=True
    )

    def __init__(self, *args, customers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class AllocationSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    amount = MoneyField()

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "invoice_number", "amount"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    amount = MoneyField()
    unallocated = MoneyField()
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "customer",
            "customer_code",
            "payment_date",
            "amount",
            "currency",
            "reference",
            "status",
            "unallocated",
            "allocations",
            "reversed_at",
            "reversal_reason",
        ]
        read_only_fields = fields


class AllocationInputSerializer(serializers.Serializer):
    invoice = ScopedPrimaryKeyField(queryset=Invoice.objects.none())
    amount = MoneyInputField()

    def __init__(self, *args, invoices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if invoices is not None:
            self.fields["invoice"].queryset = invoices


class PaymentCreateSerializer(serializers.Serializer):
    """Record a payment; without `allocations` it settles the oldest due invoices first."""

    customer = ScopedPrimaryKeyField(queryset=Customer.objects.none())
    payment_date = BusinessDateField()
    amount = MoneyInputField()
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    reference = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    allocations = AllocationInputSerializer(many=True, required=False)

    def __init__(self, *args, customers=None, invoices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers
        if invoices is not None:
            self.fields["allocations"].child.fields["invoice"].queryset = invoices


class CreditNoteSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    amount = MoneyField()

    class Meta:
        model = CreditNote
        fields = ["id", "number", "invoice", "invoice_number", "issue_date", "amount", "reason"]
        read_only_fields = fields


class CreditNoteCreateSerializer(serializers.Serializer):
    invoice = ScopedPrimaryKeyField(queryset=Invoice.objects.none())
    number = serializers.CharField(max_length=64)
    issue_date = BusinessDateField()
    amount = MoneyInputField()
    reason = serializers.CharField(max_length=2000)

    def __init__(self, *args, invoices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if invoices is not None:
            self.fields["invoice"].queryset = invoices


# Bucket names ("1-30") are no identifiers: the ageing shapes are built from KEYS.
AgeingAmountsSerializer = type(
    "AgeingAmountsSerializer",
    (serializers.Serializer,),
    {"__module__": __name__} | {key: MoneyField() for key in KEYS},
)
AgeingCustomerSerializer = type(
    "AgeingCustomerSerializer",
    (serializers.Serializer,),
    {"__module__": __name__, "code": serializers.CharField(), "name": serializers.CharField()}
    | {key: MoneyField() for key in KEYS},
)


class AgeingReportSerializer(serializers.Serializer):
    """The JSON of `aging_report --format json`."""

    as_of = BusinessDateField()
    currency = serializers.CharField()
    totals = AgeingAmountsSerializer()
    customers = AgeingCustomerSerializer(many=True)


class AgeingParamsSerializer(serializers.Serializer):
    as_of = BusinessDateField(required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    rep = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False
    )
