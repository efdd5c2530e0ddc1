"""Invoicing a triggered milestone through the receivables invoice service."""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from contracts.models import Contract, PaymentMilestone
from contracts.services._common import contract_lock, require_finance, save_with_history
from contracts.services.milestones import milestone_shares, milestones_lock
from core.exceptions import BusinessRuleError
from receivables.models import Invoice
from receivables.services.customers import customer_lock
from receivables.services.invoices import invoice_issue


@transaction.atomic
def milestone_invoice_issue(
    *, milestone: PaymentMilestone, number: str, issue_date: date, actor: AbstractBaseUser
) -> Invoice:
    """Invoice a triggered milestone for its exact share, once.

    The invoice is due on the milestone's due date, or on its issue date if it
    is issued later than that (an invoice cannot fall due before it exists).
    The credit check is not repeated: the contract's whole amount passed it
    when the contract was approved, and is already counted in the exposure.
    A cancelled invoice frees its milestone for a new one.
    """
    require_finance(user=actor)
    contract = Contract.objects.select_related("customer").get(pk=milestone.contract_id)
    customer_lock(pk=contract.customer_id)
    contract = contract_lock(contract=contract)
    milestones = milestones_lock(contract=contract)
    position = next(index for index, row in enumerate(milestones) if row.pk == milestone.pk)
    milestone = milestones[position]
    if contract.status != Contract.Status.ACTIVE:
        raise BusinessRuleError(
            _("Milestones are invoiced only on an active contract; this one is %(status)s.")
            % {"status": contract.get_status_display()}
        )
    if milestone.invoice_id is not None:
        existing = Invoice.objects.get(pk=milestone.invoice_id)
        if existing.status != Invoice.Status.CANCELLED:
            raise BusinessRuleError(
                _("Milestone %(n)s already has invoice %(number)s; it is invoiced only once.")
                % {"n": milestone.sequence, "number": existing.number}
            )
    if milestone.due_date is None:
        raise BusinessRuleError(
            _("Milestone %(n)s is not due yet: its trigger (%(trigger)s) has not happened.")
            % {"n": milestone.sequence, "trigger": milestone.get_trigger_display().lower()}
        )
    if issue_date is None:
        raise BusinessRuleError(_("Enter the issue date."), field="issue_date")
    shares = milestone_shares(amount=contract.amount, percents=[row.percent for row in milestones])
    invoice = invoice_issue(
        customer=contract.customer,
        number=number,
        issue_date=issue_date,
        due_date=max(milestone.due_date, issue_date),
        amount=shares[position],
        currency=contract.currency,
        actor=actor,
        check_credit=False,
        contract_number=contract.number,
    )
    milestone.invoice = invoice
    save_with_history(
        milestone, actor=actor, reason=f"invoice {invoice.number} issued", update_fields=["invoice"]
    )
    return invoice
