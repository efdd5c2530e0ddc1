"""Reads over invoices, payments and credit: open balances, lists, credit left."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from core.money import money_quantize
from core.scoping import scope_for_user
from receivables.models import CreditNote, Customer, Invoice, Payment, PaymentAllocation
from receivables.selectors.balances import (
    DEFAULT_TOLERANCE,
    MONEY_FIELD,
    ZERO,
    invoices_open_today,
    overdue_q,
)
from receivables.selectors.replaced import invoices_exclude_replaced

User = AbstractBaseUser | AnonymousUser


def _per_customer(queryset: QuerySet, *, group: str, total: object) -> Subquery:
    """One total per customer of `queryset` (filtered on OuterRef("pk")), as a subquery."""
    return Subquery(
        queryset.order_by().values(group).annotate(total=total).values("total"),
        output_field=MONEY_FIELD,
    )


def customer_open_receivables_expression() -> Coalesce:
    """Per customer: what it still owes today on its open invoices (annotate a Customer)."""
    open_invoices = invoices_open_today(Invoice.objects.filter(customer=OuterRef("pk")))
    return Coalesce(_per_customer(open_invoices, group="customer", total=Sum("outstanding")), ZERO)


def customer_open_receivables(*, customer: Customer) -> Decimal:
    """Sum what the customer still owes on its invoices that are not cancelled."""
    total = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(total=customer_open_receivables_expression())
        .values_list("total", flat=True)
        .get()
    )
    return money_quantize(total)


def payment_credit() -> ExpressionWrapper:
    """Expression on a payment: what it holds unallocated, its amount less the allocations it
    stores (`allocated_amount`, kept by the payment services). Only a posted payment holds
    credit: read it through `payments_holding_credit`."""
    return ExpressionWrapper(F("amount") - F("allocated_amount"), output_field=MONEY_FIELD)


def payments_with_allocated(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate `allocated` and `unallocated` on each payment (its stored allocated amount)."""
    return queryset.annotate(allocated=F("allocated_amount"), unallocated=payment_credit())


def payments_holding_credit(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """The posted payments not wholly allocated (the partial index `payment_with_credit_idx`)."""
    return queryset.filter(status=Payment.Status.POSTED, allocated_amount__lt=F("amount"))


def customer_credit_expression() -> Coalesce:
    """Per customer: the credit its posted payments hold (annotate a Customer), summed over
    the few payments that hold any (the partial index `payment_with_credit_idx`), not over
    every payment and allocation it ever had."""
    holding = payments_holding_credit(Payment.objects.filter(customer=OuterRef("pk")))
    return Coalesce(_per_customer(holding, group="customer", total=Sum(payment_credit())), ZERO)


def customer_unallocated_credit(*, customer: Customer) -> Decimal:
    """Sum what the customer's posted payments hold unallocated (credit to apply later)."""
    credit = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(credit=customer_credit_expression())
        .values_list("credit", flat=True)
        .get()
    )
    return money_quantize(credit)


def payment_unallocated(*, payment: Payment) -> Decimal:
    """What is left of a posted payment after its allocations; nothing once reversed (the
    Python twin of `payment_credit`)."""
    if payment.status != Payment.Status.POSTED:
        return Decimal("0.00")
    return money_quantize(payment.amount - payment.allocated_amount)


def customer_payments_with_credit(*, customer: Customer) -> QuerySet[Payment]:
    """The customer's posted payments that still hold unallocated credit, oldest first."""
    return payments_with_allocated(
        payments_holding_credit(Payment.objects.filter(customer=customer))
    ).order_by("payment_date", "pk")


def customer_open_invoices(*, customer: Customer, currency: str | None = None) -> QuerySet[Invoice]:
    """The customer's open invoices, oldest due first (the order automatic allocation uses)."""
    queryset = invoices_open_today(Invoice.objects.filter(customer=customer))
    if currency:
        queryset = queryset.filter(currency=currency)
    return queryset.order_by("due_date", "issue_date", "pk")


@dataclass(frozen=True)
class InvoiceFilters:
    """What the invoice list can be narrowed to; empty values mean no filter."""

    q: str = ""
    status: str = ""
    currency: str = ""
    customer_id: int | None = None
    overdue_on: date | None = None
    tolerance: Decimal = DEFAULT_TOLERANCE


def invoice_list(*, user: User, filters: InvoiceFilters | None = None) -> QuerySet[Invoice]:
    """List the invoices the user may see, narrowed by the filters, oldest due first."""
    filters = filters or InvoiceFilters()
    queryset = scope_for_user(
        Invoice.objects.select_related("customer", "customer__sales_rep"), user
    )
    if filters.q:
        queryset = queryset.filter(
            Q(number__icontains=filters.q)
            | Q(customer__code__icontains=filters.q)
            | Q(customer__name__icontains=filters.q)
            | Q(contract_number__icontains=filters.q)
        )
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.currency:
        queryset = queryset.filter(currency=filters.currency)
    if filters.customer_id:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.overdue_on:
        queryset = invoices_exclude_replaced(
            invoices_open_today(queryset).filter(
                overdue_q(as_of=filters.overdue_on, tolerance=filters.tolerance)
            )
        )
    return queryset.order_by("due_date", "number")


def invoice_get_for_user(*, user: User, pk: int) -> Invoice | None:
    """The invoice with its customer and rep, if the user may see it."""
    return (
        scope_for_user(Invoice.objects.select_related("customer", "customer__sales_rep"), user)
        .filter(pk=pk)
        .first()
    )


def invoice_allocations(*, invoice: Invoice) -> QuerySet[PaymentAllocation]:
    """The payments allocated to the invoice, reversed ones included, by payment date."""
    return invoice.allocations.select_related("payment").order_by("payment__payment_date", "pk")


def invoice_credit_notes(*, invoice: Invoice) -> QuerySet[CreditNote]:
    """The credit notes against the invoice, oldest first."""
    return invoice.credit_notes.order_by("issue_date", "pk")


def invoice_currency_list(*, user: User) -> list[str]:
    """The currencies the user's invoices are in."""
    return list(
        scope_for_user(Invoice.objects.all(), user)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )


def payment_list(*, user: User, customer: Customer | None = None) -> QuerySet[Payment]:
    """List the payments the user may see with allocated and unallocated amounts, newest first."""
    queryset = scope_for_user(
        Payment.objects.select_related("customer", "customer__sales_rep"), user
    )
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    return payments_with_allocated(queryset).order_by("-payment_date", "-pk")


def payment_allocations(*, payment: Payment) -> QuerySet[PaymentAllocation]:
    """The invoices a payment settles, oldest due first."""
    return payment.allocations.select_related("invoice").order_by("invoice__due_date", "pk")


@dataclass(frozen=True)
class CustomerBalance:
    currency: str
    open_receivables: Decimal
    open_invoice_count: int
    unallocated_credit: Decimal

    @property
    def net_balance(self) -> Decimal:
        """What the customer owes once its unapplied credit is counted."""
        return self.open_receivables - self.unallocated_credit


BALANCE_FIGURES = ("balance_open", "balance_count", "balance_credit")


def customers_with_balance(queryset: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate each customer with what `customer_balance` reads, so a page that fetches
    the customer this way gets its balance without another query."""
    open_invoices = invoices_open_today(Invoice.objects.filter(customer=OuterRef("pk")))
    return queryset.annotate(
        balance_open=customer_open_receivables_expression(),
        balance_count=Coalesce(
            Subquery(
                open_invoices.order_by().values("customer").annotate(n=Count("pk")).values("n")
            ),
            0,
        ),
        balance_credit=customer_credit_expression(),
    )


def customer_balance(*, customer: Customer) -> CustomerBalance:
    """The customer's open receivables today and its unapplied credit (read by
    `customers_with_balance`, with one query unless the customer came annotated).

    What is overdue is the customer file's (`dashboards`): after an approved
    instalment plan it is the plan's instalments, which receivables does not know.
    """
    if not all(hasattr(customer, name) for name in BALANCE_FIGURES):
        customer = customers_with_balance(Customer.objects.filter(pk=customer.pk)).get()
    return CustomerBalance(
        currency=customer.currency,
        open_receivables=money_quantize(customer.balance_open),
        open_invoice_count=customer.balance_count,
        unallocated_credit=money_quantize(customer.balance_credit),
    )


def payment_excess_credit(
    *,
    balance: CustomerBalance,
    amount: Decimal,
    allocated: Decimal | None = None,
    factor: Decimal | None = None,
) -> Decimal | None:
    """The credit a payment would leave when it exceeds the open balance more than `factor`
    times (settings `PAYMENT_CONFIRM_FACTOR`), else None: such a payment needs confirming.

    `allocated` is what the payment is allocated to explicitly (None: oldest first).
    """
    if factor is None:
        factor = Decimal(str(settings.PAYMENT_CONFIRM_FACTOR))
    if amount <= money_quantize(balance.open_receivables * factor):
        return None
    if allocated is None:
        allocated = min(amount, balance.open_receivables)
    return money_quantize(amount - allocated)
