"""Collection cases, messages and letters (read), promises and disputes (created by services)."""

from django.http import FileResponse, Http404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import CaseFilter, DisputeFilter, MessageFilter, PromiseFilter
from api.serializers.dunning import (
    CollectionCaseSerializer,
    DisputeCreateSerializer,
    DisputeSerializer,
    MessageSerializer,
    PromiseCreateSerializer,
    PromiseSerializer,
)
from api.views._common import ScopedViewSet, business_date
from dunning.models import CollectionCase, Communication, Dispute, PromiseToPay
from dunning.pdf import PDF_CONTENT_TYPE
from dunning.services.disputes import dispute_open
from dunning.services.promises import promise_to_pay_record
from receivables.models import Customer, Invoice


class CollectionCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Dunning cases: one per customer with overdue items, its reason, owner and status."""

    serializer_class = CollectionCaseSerializer
    filterset_class = CaseFilter

    def base_queryset(self):
        return CollectionCase.objects.select_related("customer", "owner")


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Dunning messages (reminders, demand letters, escalations) as they were written."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter

    def base_queryset(self):
        return Communication.objects.select_related("customer")

    @extend_schema(
        responses={
            (200, PDF_CONTENT_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The demand letter (PDF)"
            )
        }
    )
    @action(detail=True, methods=["get"])
    def letter(self, request: Request, pk: int) -> FileResponse:
        """The stored demand letter of a message, as a PDF download."""
        communication = self.get_object()
        if not communication.letter_pdf:
            raise Http404
        try:
            handle = communication.letter_pdf.open("rb")
        except FileNotFoundError as error:
            raise Http404 from error
        response = FileResponse(handle, content_type=PDF_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True,
            filename=f"demand-letter-{communication.customer.code}-"
            f"{communication.business_date}.pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response


class PromiseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Promises to pay: an amount by a date pauses the ladder for its invoices."""

    serializer_class = PromiseSerializer
    filterset_class = PromiseFilter

    def base_queryset(self):
        return PromiseToPay.objects.select_related("customer").prefetch_related("invoices")

    @extend_schema(request=PromiseCreateSerializer, responses={201: PromiseSerializer})
    def create(self, request: Request) -> Response:
        """Record the customer's promise to pay, through the promise service."""
        serializer = PromiseCreateSerializer(
            data=request.data,
            customers=self.scoped(Customer.objects.all()),
            invoices=self.scoped(Invoice.objects.all()),
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        promise = promise_to_pay_record(
            customer=data["customer"],
            invoices=data["invoices"],
            amount=data["amount"],
            promised_date=data["promised_date"],
            note=data["note"],
            actor=request.user,
            as_of=business_date(),
        )
        promise = self.base_queryset().get(pk=promise.pk)
        return Response(PromiseSerializer(promise).data, status=status.HTTP_201_CREATED)


class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Disputes: contested invoices wait for finance, the customer's others go on."""

    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter

    def base_queryset(self):
        return Dispute.objects.select_related("customer").prefetch_related("invoices")

    @extend_schema(request=DisputeCreateSerializer, responses={201: DisputeSerializer})
    def create(self, request: Request) -> Response:
        """Open a dispute on some of the customer's open invoices, through the dispute service."""
        serializer = DisputeCreateSerializer(
            data=request.data,
            customers=self.scoped(Customer.objects.all()),
            invoices=self.scoped(Invoice.objects.all()),
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dispute = dispute_open(
            customer=data["customer"],
            invoices=data["invoices"],
            reason=data["reason"],
            actor=request.user,
            as_of=business_date(),
        )
        dispute = self.base_queryset().get(pk=dispute.pk)
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)
