"""Bank receipts and acceptance bills (read), scoped as their pages."""

from django.db.models import QuerySet
from rest_framework import mixins

from api.filters import AcceptanceBillFilter, BankReceiptFilter
from api.serializers.cash import AcceptanceBillSerializer, BankReceiptSerializer
from api.views._common import ScopedViewSet
from banking.models import BankReceipt
from bills.models import AcceptanceBill
from core.roles import Role, has_role
from core.scoping import sees_all_customers


class BankReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Money received on our bank accounts and where it went. Finance and managers see every
    receipt; a sales rep sees what the claim page offers: the unmatched receipts, with their
    date, amount, currency, payer name and memo only (every other field is null)."""

    serializer_class = BankReceiptSerializer
    filterset_class = BankReceiptFilter

    def base_queryset(self) -> QuerySet:
        return BankReceipt.objects.select_related("bank_account", "customer")

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        if sees_all_customers(user):
            return self.base_queryset()
        if has_role(user, Role.SALES_REP):
            # The claim page's list (`receipt_list_claimable`): unmatched, nobody's yet.
            return self.base_queryset().filter(status=BankReceipt.Status.UNMATCHED)
        return BankReceipt.objects.none()

    def get_serializer_context(self) -> dict:
        return {
            **super().get_serializer_context(),
            "public_only": not sees_all_customers(self.request.user),
        }


class AcceptanceBillViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Acceptance bills received from customers, held until maturity or settled."""

    serializer_class = AcceptanceBillSerializer
    filterset_class = AcceptanceBillFilter

    def base_queryset(self) -> QuerySet:
        return AcceptanceBill.objects.select_related("customer")
