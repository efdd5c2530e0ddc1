"""Demo collection stories, after the demo's dunning runs: a dispute, a promise kept and
one broken, and an approved instalment plan, so a newcomer sees the product's range.

With the invoice ages of `receivables.demo_invoices`, the manager's ladder then shows a
customer at every rung: C-2001 at the reminder, C-2002 at the demand letter, C-1003 at
the executive escalation, C-1001, C-1002 and C-2004 at the legal referral.

Idempotent: a story whose row exists is not told again. Everything goes through the
services, as a user's clicks would.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.utils import timezone

from contracts.models import SupplementaryAgreement
from dunning.models import Dispute, PromiseToPay
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from dunning.services.disputes import dispute_open
from dunning.services.promises import promise_review, promise_to_pay_record
from receivables.models import Invoice
from receivables.services.payments import payment_record

DISPUTE_REASON = "The customer says 40 of the 200 units arrived damaged; photos requested."
KEPT_NOTE = "Treasurer confirmed the transfer is scheduled."
BROKEN_NOTE = "Promised after the quarter-end close."
PLAN_REASON = "Cash-flow trouble after a lost tender: three monthly instalments agreed."


def _invoice(number: str) -> Invoice | None:
    return Invoice.objects.select_related("customer").filter(number=number).first()


def _dispute(*, users: dict[str, AbstractUser], today) -> bool:
    invoice = _invoice("INV-DEMO-C-1001-02")
    if invoice is None or Dispute.objects.filter(customer=invoice.customer).exists():
        return False
    dispute_open(
        customer=invoice.customer,
        invoices=[invoice],
        reason=DISPUTE_REASON,
        actor=users["rep1"],
        as_of=today,
    )
    return True


def _promise_kept(*, users: dict[str, AbstractUser], today) -> bool:
    invoice = _invoice("INV-DEMO-C-1003-03")
    if invoice is None or PromiseToPay.objects.filter(note=KEPT_NOTE).exists():
        return False
    if invoice.outstanding <= 0:
        return False
    promise_to_pay_record(
        customer=invoice.customer,
        invoices=[invoice],
        amount=invoice.outstanding,
        promised_date=today + timedelta(days=2),
        note=KEPT_NOTE,
        actor=users["rep1"],
        as_of=today - timedelta(days=3),
    )
    # The money arrives today: the promise is kept as the payment commits.
    payment_record(
        customer=invoice.customer,
        payment_date=today,
        amount=invoice.outstanding,
        currency=invoice.currency,
        reference="DEMO-PAY-C-1003-PROMISE",
        actor=users["finance1"],
        allocations=[(invoice, invoice.outstanding)],
    )
    return True


def _promise_broken(*, users: dict[str, AbstractUser], today) -> bool:
    invoice = _invoice("INV-DEMO-C-1002-01")
    if invoice is None or PromiseToPay.objects.filter(note=BROKEN_NOTE).exists():
        return False
    promise_to_pay_record(
        customer=invoice.customer,
        invoices=[invoice],
        amount=invoice.outstanding,
        promised_date=today - timedelta(days=8),
        note=BROKEN_NOTE,
        actor=users["rep1"],
        as_of=today - timedelta(days=12),
    )
    # The daily review finds the date (and its grace days) passed unpaid.
    promise_review(as_of=today)
    return True


def _plan(*, users: dict[str, AbstractUser], today) -> bool:
    invoice = _invoice("INV-DEMO-C-2002-02")
    if invoice is None or SupplementaryAgreement.objects.filter(customer=invoice.customer).exists():
        return False
    owed = invoice.outstanding
    first = (owed / 3).quantize(Decimal("0.01"))
    agreement = agreement_propose(
        customer=invoice.customer,
        invoices=[invoice],
        kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
        instalments=[
            InstalmentInput(due_date=today + timedelta(days=10), amount=first),
            InstalmentInput(due_date=today + timedelta(days=40), amount=first),
            InstalmentInput(due_date=today + timedelta(days=70), amount=owed - 2 * first),
        ],
        reason=PLAN_REASON,
        actor=users["rep2"],
        as_of=today,
    )
    agreement_approve(
        agreement=agreement,
        actor=users["manager1"],
        as_of=today,
        comment="Agreed: the customer has paid on time for two years.",
    )
    return True


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    today = timezone.localdate()
    told = [
        name
        for name, story in (
            ("dispute", _dispute),
            ("promise kept", _promise_kept),
            ("promise broken", _promise_broken),
            ("instalment plan", _plan),
        )
        if story(users=users, today=today)
    ]
    stdout.write(f"  stories: {', '.join(told) or 'already told'}")
