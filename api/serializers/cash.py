"""Shapes of bank receipts and acceptance bills (read only)."""

from rest_framework import serializers

from api.fields import MoneyField, NullableMoneyField
from banking.models import BankReceipt
from bills.models import AcceptanceBill

# What the claim page shows a sales rep of a receipt offered to claims: no customer, no
# suggestion, no account, nobody's claim.
RECEIPT_PUBLIC_FIELDS = ("id", "date", "amount", "currency", "payer_name", "memo", "status")


class BankReceiptSerializer(serializers.ModelSerializer):
    """A receipt as finance sees it; for a sales rep only the public fields, the rest null."""

    amount = MoneyField()
    bank_account = serializers.CharField(
        source="bank_account.code", read_only=True, allow_null=True
    )
    transaction_id = serializers.CharField(read_only=True, allow_null=True)
    payer_account = serializers.CharField(read_only=True, allow_null=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    customer_code = serializers.CharField(source="customer.code", read_only=True, allow_null=True)
    payment = serializers.IntegerField(source="payment_id", read_only=True, allow_null=True)
    applied_automatically = serializers.BooleanField(read_only=True, allow_null=True)
    applied_rule = serializers.CharField(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    dismiss_reason = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = BankReceipt
        fields = [
            "id",
            "date",
            "amount",
            "currency",
            "payer_name",
            "memo",
            "status",
            "bank_account",
            "transaction_id",
            "payer_account",
            "customer",
            "customer_code",
            "payment",
            "applied_automatically",
            "applied_rule",
            "decided_at",
            "dismiss_reason",
        ]
        read_only_fields = fields

    def to_representation(self, instance: BankReceipt) -> dict:
        data = super().to_representation(instance)
        if self.context.get("public_only"):
            for name in data:
                if name not in RECEIPT_PUBLIC_FIELDS:
                    data[name] = None
        return data


class AcceptanceBillSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    face_amount = MoneyField()
    discount_amount = NullableMoneyField()
    cash_received = NullableMoneyField()

    class Meta:
        model = AcceptanceBill
        fields = [
            "id",
            "number",
            "kind",
            "acceptor",
            "drawer",
            "issue_date",
            "maturity_date",
            "face_amount",
            "currency",
            "customer",
            "customer_code",
            "received_on",
            "payment",
            "status",
            "settled_on",
            "endorsee",
            "discount_amount",
            "cash_received",
            "dishonour_reason",
        ]
        read_only_fields = fields
