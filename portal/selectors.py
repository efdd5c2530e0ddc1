"""What the customer's page shows, and how the confirmation periods stand.

The page reads only rows of the link's customer, and only what a customer
may see of them: open amounts (the balance module), invoices, delivery
proofs, letters that went out, its own confirmations. No case status, no
rung, no task, no note of ours.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from contracts.models import DeliveryRecord
from dunning.models import Communication, Dispute, PromiseToPay
from portal.models import BalanceConfirmation, ConfirmationReminder, PortalAction, PortalLink
from portal.models import token_hash as hash_token
from receivables.models import Customer, Invoice
from receivables.selectors.balances import (
    invoices_open_today,
    open_q,
)
from statements.models import Statement

INVOICE_ROWS = 50


def portal_link_active_get(*, token: str) -> PortalLink | None:
    """The link of a token if it still opens the page: not revoked, not expired."""
    if not token or len(token) > 100:
        return None
    return (
        PortalLink.objects.select_related("customer")
        .filter(
            token_hash=hash_token(token),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def portal_open_items(*, customer: Customer) -> QuerySet[Invoice]:
    """The customer's open invoices today, oldest due first, marked when disputed or promised."""
    return (
        invoices_open_today(Invoice.objects.filter(customer=customer))
        .filter(open_q())
        .annotate(
            in_dispute=Exists(
                Dispute.objects.filter(invoices=OuterRef("pk"), status=Dispute.Status.OPEN)
            ),
            promised=Exists(
                PromiseToPay.objects.filter(
                    invoices=OuterRef("pk"), status=PromiseToPay.Status.OPEN
                )
            ),
        )
        .order_by("due_date", "number")
    )


def portal_invoices(*, customer: Customer, limit: int = INVOICE_ROWS) -> list[Invoice]:
    """The customer's latest invoices, whatever their state (cancelled ones left out)."""
    return list(
        Invoice.objects.filter(customer=customer)
        .exclude(status=Invoice.Status.CANCELLED)
        .order_by("-issue_date", "-number")[:limit]
    )


def portal_delivery_proofs(*, customer: Customer) -> QuerySet[DeliveryRecord]:
    """Delivery and acceptance records with proof, of the customer's contracts."""
    return (
        DeliveryRecord.objects.filter(contract__customer=customer)
        .exclude(proof="")
        .select_related("contract")
        .order_by("-occurred_on", "-pk")
    )


def portal_letters(*, customer: Customer) -> QuerySet[Communication]:
    """Letters that went out to the customer (the stored PDF)."""
    return (
        Communication.objects.filter(customer=customer, status=Communication.Status.SENT)
        .exclude(letter_pdf="")
        .order_by("-business_date", "-pk")
    )


def portal_confirmations(*, customer: Customer) -> QuerySet[BalanceConfirmation]:
    return BalanceConfirmation.objects.filter(customer=customer).order_by("-as_of")


def _sent_statements(*, customer: Customer) -> QuerySet[Statement]:
    return Statement.objects.filter(customer=customer, status=Statement.Status.SENT)


def portal_statements(*, customer: Customer) -> list[Statement]:
    """The customer's statements of account that were sent, newest first (the last twelve)."""
    return list(_sent_statements(customer=customer).order_by("-period_end", "-pk")[:12])


def portal_statement_get(*, customer: Customer, pk: int) -> Statement | None:
    """One sent statement of the customer (another customer's, or one not sent: None)."""
    return _sent_statements(customer=customer).filter(pk=pk).select_related("customer").first()


# --- Confirmation periods ----------------------------------------------------------


@dataclass(frozen=True)
class ConfirmationRate:
    as_of: date | None
    asked: int
    confirmed: int
    disputed: int
    silent: int

    @property
    def rate(self) -> Decimal | None:
        """Confirmed out of asked, as a percentage with one decimal."""
        if not self.asked:
            return None
        return (Decimal(self.confirmed) * 100 / Decimal(self.asked)).quantize(Decimal("0.1"))


def confirmation_periods(*, limit: int = 24) -> list[date]:
    """The balance dates customers were asked to confirm, newest first."""
    return list(
        PortalLink.objects.filter(as_of__isnull=False)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .distinct()[:limit]
    )


def _period_conditions(as_of: date) -> tuple[Exists, Exists, Exists, Exists]:
    """Asked, confirmed, disputed through the portal, reminded: for customers, for one date."""
    return (
        Exists(PortalLink.objects.filter(customer=OuterRef("pk"), as_of=as_of)),
        Exists(BalanceConfirmation.objects.filter(customer=OuterRef("pk"), as_of=as_of)),
        Exists(
            PortalAction.objects.filter(
                customer=OuterRef("pk"), as_of=as_of, kind=PortalAction.Kind.DISPUTE
            )
        ),
        Exists(ConfirmationReminder.objects.filter(customer=OuterRef("pk"), as_of=as_of)),
    )


def confirmation_status_list(*, as_of: date) -> QuerySet[Customer]:
    """Customers asked to confirm the balance as of the date, each marked confirmed,
    disputed (through the portal, for that date), reminded; silent is neither of the first two."""
    asked, confirmed, disputed, reminded = _period_conditions(as_of)
    return (
        Customer.objects.filter(asked)
        .annotate(confirmed=confirmed, disputed=disputed, reminded=reminded)
        .select_related("sales_rep")
        .order_by("name", "pk")
    )


def confirmation_rate(*, as_of: date | None = None) -> ConfirmationRate:
    """How the customers asked for a period answered (the latest period by default)."""
    if as_of is None:
        periods = confirmation_periods(limit=1)
        if not periods:
            return ConfirmationRate(as_of=None, asked=0, confirmed=0, disputed=0, silent=0)
        as_of = periods[0]
    asked, confirmed, disputed, _reminded = _period_conditions(as_of)
    counts = Customer.objects.filter(asked).aggregate(
        asked=Count("pk"),
        confirmed=Count("pk", filter=Q(confirmed)),
        disputed=Count("pk", filter=Q(disputed) & ~Q(confirmed)),
        silent=Count("pk", filter=~Q(confirmed) & ~Q(disputed)),
    )
    return ConfirmationRate(as_of=as_of, **counts)
