"""Shapes of contracts and their payment milestones (read only)."""

from rest_framework import serializers

from api.fields import MoneyField
from contracts.models import Contract, PaymentMilestone


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentMilestone
        fields = [
            "id",
            "contract",
            "sequence",
            "description",
            "percent",
            "trigger",
            "offset_days",
            "fixed_date",
            "trigger_date",
            "due_date",
            "invoice",
        ]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    amount = MoneyField()
    milestones = MilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "number",
            "customer",
            "customer_code",
            "title",
            "signed_date",
            "start_date",
            "end_date",
            "amount",
            "currency",
            "payment_type",
            "credit_terms_days",
            "payee_account_name",
            "payee_bank_name",
            "payee_bank_account",
            "late_fee_rate_percent",
            "late_fee_rate_period",
            "late_fee_grace_days",
            "late_fee_cap_percent",
            "dispute_resolution_clause",
            "status",
            "reviewed_at",
            "milestones",
        ]
        read_only_fields = fields
