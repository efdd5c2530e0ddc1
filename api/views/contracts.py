"""Contracts and payment milestones (read)."""

from django.db.models import Prefetch
from rest_framework import mixins

from api.serializers.contracts import ContractSerializer, MilestoneSerializer
from api.views._common import ScopedViewSet
from contracts.models import Contract, PaymentMilestone


class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Contracts with their payment clauses and milestones."""

    serializer_class = ContractSerializer

    def base_queryset(self):
        return Contract.objects.select_related("customer").prefetch_related(
            Prefetch("milestones", queryset=PaymentMilestone.objects.order_by("sequence", "pk"))
        )


class MilestoneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Payment milestones: share of the contract, trigger and due date."""

    serializer_class = MilestoneSerializer

    def base_queryset(self):
        return PaymentMilestone.objects.all()
