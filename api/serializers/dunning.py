"""Shapes of collection cases, messages, letters, promises and disputes."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    BusinessDateField,
    MoneyField,
    MoneyInputField,
    ScopedPrimaryKeyField,
    choice_or_blank,
)
from dunning.models import (
    Channel,
    CollectionCase,
    Communication,
    Dispute,
    PromiseToPay,
    SettlementReason,
)
from receivables.models import Customer, Invoice


class CollectionCaseSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    closed_reason = choice_or_blank(SettlementReason.choices)

    class Meta:
        model = CollectionCase
        fields = [
            "id",
            "customer",
            "customer_code",
            "status",
            "owner",
            "overdue_reason",
            "opened_on",
            "closed_on",
            "closed_reason",
            "notes",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    """A dunning message: one customer, level and currency; a demand letter has a PDF."""

    customer_code = serializers.CharField(source="customer.code", read_only=True)
    total_amount = MoneyField()
    failure_reason = choice_or_blank(Communication.FailureReason.choices)
    # Empty until the message has a recipient: text, not an email format.
    recipient_email = serializers.CharField(read_only=True)
    has_letter = serializers.SerializerMethodField()
    letter_url = serializers.SerializerMethodField()

    class Meta:
        model = Communication
        fields = [
            "id",
            "customer",
            "customer_code",
            "business_date",
            "level",
            "currency",
            "channels",
            "status",
            "failure_reason",
            "language",
            "recipient_name",
            "recipient_email",
            "subject",
            "body",
            "total_amount",
            "approved_at",
            "sent_at",
            "has_letter",
            "letter_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            name: {
                "help_text": "Empty until the email is rendered: when the message goes out, "
                "or when finance approves it."
            }
            for name in ("subject", "body")
        }

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_letter(self, communication: Communication) -> bool:
        return Channel.LETTER in (communication.channels or []) and bool(communication.letter_pdf)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_letter_url(self, communication: Communication) -> str | None:
        if not self.get_has_letter(communication):
            return None
        return reverse("api:message_letter", kwargs={"pk": communication.pk})


class PromiseSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    amount = MoneyField()

    class Meta:
        model = PromiseToPay
        fields = [
            "id",
            "customer",
            "customer_code",
            "case",
            "invoices",
            "amount",
            "currency",
            "promised_date",
            "status",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class _CustomerInvoicesInput(serializers.Serializer):
    customer = ScopedPrimaryKeyField(queryset=Customer.objects.none())
    invoices = ScopedPrimaryKeyField(queryset=Invoice.objects.none(), many=True, allow_empty=False)

    def __init__(self, *args, customers=None, invoices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers
        if invoices is not None:
            self.fields["invoices"].child_relation.queryset = invoices


class PromiseCreateSerializer(_CustomerInvoicesInput):
    """The customer promises to pay an amount by a date for some of its open invoices."""

    amount = MoneyInputField()
    promised_date = BusinessDateField()
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class DisputeSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "customer",
            "customer_code",
            "case",
            "invoices",
            "status",
            "reason",
            "resolution_note",
            "opened_on",
            "resolved_at",
        ]
        read_only_fields = fields


class DisputeCreateSerializer(_CustomerInvoicesInput):
    """The customer contests these invoices: their dunning pauses until finance resolves it."""

    reason = serializers.CharField(max_length=2000)
