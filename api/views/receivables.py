"""Customers, invoices, payments, credit notes and the ageing: validate, call a service, answer."""

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import InvoiceFilter, PaymentFilter
from api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from api.serializers.receivables import (
    AgeingParamsSerializer,
    AgeingReportSerializer,
    CreditNoteCreateSerializer,
    CreditNoteSerializer,
    CustomerCreateSerializer,
    CustomerSerializer,
    InvoiceCreateSerializer,
    InvoiceSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    ReasonSerializer,
)
from api.views._common import ScopedViewSet, business_date, require_roles
from core.roles import Role
from receivables.currencies import is_iso_4217
from receivables.models import Contact, CreditNote, Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.ageing import ageing_report
from receivables.selectors.invoices import (
    customer_open_receivables_expression,
    payments_with_allocated,
)
from receivables.services.customers import customer_create
from receivables.services.invoices import credit_note_issue, invoice_cancel, invoice_issue
from receivables.services.payments import payment_record, payment_reverse

INVOICE_FIELDS = [field.name for field in Invoice._meta.concrete_fields]


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customers with their contacts, credit limit, terms and open receivables today."""

    serializer_class = CustomerSerializer

    def base_queryset(self):
        # Only the figure the answer shows (`customers_with_balance` adds three more per-customer
        # subqueries over payments and allocations, the bulk of a page's SQL).
        return (
            Customer.objects.select_related("sales_rep")
            .prefetch_related(
                Prefetch("contacts", queryset=Contact.objects.order_by("role", "name", "pk"))
            )
            .annotate(balance_open=customer_open_receivables_expression())
        )

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerSerializer})
    def create(self, request: Request) -> Response:
        """Create a customer as the customer page allows: reps own theirs; finance and managers
        name the owning rep."""
        require_roles(request, Role.SALES_REP, Role.FINANCE, Role.MANAGER)
        serializer = CustomerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(actor=request.user, **serializer.validated_data)
        customer = self.get_queryset().get(pk=customer.pk)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Invoices in scope, filtered by status, due range, overdue, customer, rep or ageing bucket."""

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter

    def base_queryset(self):
        # Of the customer and its rep, the answer shows the code and the username only.
        return Invoice.objects.select_related("customer", "customer__sales_rep").only(
            *INVOICE_FIELDS, "customer__code", "customer__sales_rep__username"
        )

    @extend_schema(
        request=InvoiceCreateSerializer,
        responses={201: InvoiceSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request: Request) -> Response:
        """Issue an invoice (finance) through the invoice service, credit check included."""
        require_roles(request, Role.FINANCE)

        def perform() -> Response:
            serializer = InvoiceCreateSerializer(
                data=request.data, customers=self.scoped(Customer.objects.all())
            )
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            invoice = invoice_issue(
                customer=data["customer"],
                number=data["number"],
                issue_date=data["issue_date"],
                due_date=data["due_date"],
                amount=data["amount"],
                currency=data["currency"],
                actor=request.user,
                credit_override_reason=data["credit_override_reason"],
                contract_number=data["contract_number"],
            )
            invoice = self.base_queryset().get(pk=invoice.pk)
            return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)

        return idempotent(request, perform)

    @extend_schema(request=ReasonSerializer, responses={200: InvoiceSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        """Cancel an invoice nobody has paid or credited (finance), with a reason."""
        invoice = self.get_object()
        require_roles(request, Role.FINANCE)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice_cancel(
            invoice=invoice, reason=serializer.validated_data["reason"], actor=request.user
        )
        return Response(InvoiceSerializer(self.base_queryset().get(pk=invoice.pk)).data)


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Payments with their allocations and what is left unallocated."""

    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def base_queryset(self):
        return payments_with_allocated(
            Payment.objects.select_related("customer").prefetch_related(
                Prefetch(
                    "allocations",
                    # Of the invoice, the answer shows its number only.
                    queryset=PaymentAllocation.objects.select_related("invoice")
                    .only("payment_id", "invoice_id", "amount", "invoice__number")
                    .order_by("pk"),
                )
            )
        )

    @extend_schema(
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request: Request) -> Response:
        """Record a payment (finance) through the payment service: the allocations given, or the
        oldest due invoices first; the rest stays as the customer's credit."""
        require_roles(request, Role.FINANCE)

        def perform() -> Response:
            serializer = PaymentCreateSerializer(
                data=request.data,
                customers=self.scoped(Customer.objects.all()),
                invoices=self.scoped(Invoice.objects.all()),
            )
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            allocations = data.get("allocations")
            payment = payment_record(
                customer=data["customer"],
                payment_date=data["payment_date"],
                amount=data["amount"],
                currency=data["currency"],
                reference=data["reference"],
                actor=request.user,
                allocations=None
                if allocations is None
                else [(item["invoice"], item["amount"]) for item in allocations],
            )
            payment = self.base_queryset().get(pk=payment.pk)
            return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

        return idempotent(request, perform)

    @extend_schema(request=ReasonSerializer, responses={200: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: int) -> Response:
        """Reverse a posted payment (finance): its invoices reopen, and the work that followed."""
        payment = self.get_object()
        require_roles(request, Role.FINANCE)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment_reverse(
            payment=payment, reason=serializer.validated_data["reason"], actor=request.user
        )
        return Response(PaymentSerializer(self.base_queryset().get(pk=payment.pk)).data)


class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = CreditNoteSerializer

    def base_queryset(self):
        return CreditNote.objects.select_related("invoice")

    @extend_schema(request=CreditNoteCreateSerializer, responses={201: CreditNoteSerializer})
    def create(self, request: Request) -> Response:
        """Credit part or all of an invoice's open amount (finance)."""
        require_roles(request, Role.FINANCE)
        serializer = CreditNoteCreateSerializer(
            data=request.data, invoices=self.scoped(Invoice.objects.all())
        )
        serializer.is_valid(raise_exception=True)
        credit_note = credit_note_issue(actor=request.user, **serializer.validated_data)
        credit_note = self.base_queryset().get(pk=credit_note.pk)
        return Response(CreditNoteSerializer(credit_note).data, status=status.HTTP_201_CREATED)


class AgeingView(APIView):
    """Ageing of the open receivables in one currency as of a date, per customer and in total:
    the selector and JSON of `aging_report`, limited to what the user may see."""

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", type=str, description="YYYY-MM-DD; default today"),
            OpenApiParameter("currency", type=str, description="ISO 4217; default CNY"),
            OpenApiParameter("rep", type=str, description="a sales rep's username"),
        ],
        responses={200: AgeingReportSerializer},
    )
    def get(self, request: Request) -> Response:
        params = AgeingParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        today = business_date()
        currency = (data.get("currency") or settings.DEFAULT_CURRENCY).upper()
        if not is_iso_4217(currency):
            raise ValidationError(
                {
                    "currency": [
                        gettext("%(currency)s is not an ISO 4217 currency code.")
                        % {"currency": currency}
                    ]
                }
            )
        report = ageing_report(
            as_of=data.get("as_of") or today,
            currency=currency,
            rep=data.get("rep"),
            user=request.user,
            today=today,
        )
        return Response(report.as_dict())
