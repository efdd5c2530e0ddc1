from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services import (
    MilestoneData,
    contract_activate,
    contract_create,
    contract_review,
    contract_submit_for_review,
    delivery_record_create,
    milestone_invoice_issue,
)
from core.exceptions import BusinessRuleError
from receivables.models import CreditOverride, Customer, Invoice
from receivables.services.invoices import invoice_cancel
from tests.contracts.conftest import SIGNED, TODAY, contract_data
from tests.factories.contracts import pdf_upload

pytestmark = pytest.mark.django_db


def _advance(contract: Contract) -> PaymentMilestone:
    return contract.milestones.get(sequence=1)


def test_a_triggered_milestone_is_invoiced_for_its_exact_share(active, finance):
    invoice = milestone_invoice_issue(
        milestone=_advance(active), number="INV-2026-0001", issue_date=SIGNED, actor=finance
    )

    invoice.refresh_from_db()
    assert invoice.amount == Decimal("30000.00")
    assert invoice.outstanding == Decimal("30000.00")
    assert invoice.currency == "CNY"
    assert invoice.customer == active.customer
    assert invoice.issue_date == SIGNED
    assert invoice.due_date == SIGNED + timedelta(days=10)
    assert invoice.contract_number == active.number
    assert invoice.milestone == _advance(active)
    assert _advance(active).history.first().history_user == finance


def test_rounded_shares_invoice_to_the_cent(rep, customer, finance):
    contract = contract_create(
        actor=rep,
        customer=customer,
        data=contract_data(amount=Decimal("100.01")),
        milestones=[
            MilestoneData(
                description=f"Part {n}",
                percent=Decimal(p),
                trigger=PaymentMilestone.Trigger.SIGNING,
            )
            for n, p in enumerate(("30", "60", "10"), start=1)
        ],
    )
    contract_submit_for_review(contract=contract, actor=rep)
    contract_review(contract=contract, actor=finance, approve=True)
    contract_activate(contract=contract, actor=finance, signed_date=SIGNED, as_of=TODAY)

    invoices = [
        milestone_invoice_issue(
            milestone=milestone, number=f"R-{milestone.sequence}", issue_date=TODAY, actor=finance
        )
        for milestone in contract.milestones.order_by("sequence")
    ]

    assert [invoice.amount for invoice in invoices] == [
        Decimal("30.00"),
        Decimal("60.01"),
        Decimal("10.00"),
    ]
    assert sum(invoice.amount for invoice in invoices) == contract.amount


def test_a_second_invoice_for_the_same_milestone_is_refused(active, finance):
    first = milestone_invoice_issue(
        milestone=_advance(active), number="INV-1", issue_date=SIGNED, actor=finance
    )

    with pytest.raises(BusinessRuleError, match="already has invoice INV-1"):
        milestone_invoice_issue(
            milestone=_advance(active), number="INV-2", issue_date=SIGNED, actor=finance
        )

    assert list(Invoice.objects.values_list("number", flat=True)) == ["INV-1"]
    assert _advance(active).invoice == first


def test_a_cancelled_invoice_frees_its_milestone(active, finance):
    first = milestone_invoice_issue(
        milestone=_advance(active), number="INV-1", issue_date=SIGNED, actor=finance
    )
    invoice_cancel(invoice=first, reason="Wrong buyer address", actor=finance)

    second = milestone_invoice_issue(
        milestone=_advance(active), number="INV-1B", issue_date=SIGNED, actor=finance
    )

    assert _advance(active).invoice == second
    assert second.amount == Decimal("30000.00")


def test_a_milestone_waiting_for_its_trigger_is_not_invoiced(active, finance):
    delivery = active.milestones.get(sequence=2)

    with pytest.raises(BusinessRuleError, match="trigger \\(delivery\\) has not happened"):
        milestone_invoice_issue(milestone=delivery, number="INV-2", issue_date=TODAY, actor=finance)

    assert not Invoice.objects.exists()


def test_after_delivery_its_milestone_is_invoiced(active, finance):
    delivered = date(2026, 3, 5)
    delivery_record_create(
        contract=active,
        kind=DeliveryRecord.Kind.DELIVERY,
        occurred_on=delivered,
        signer_name="Zhao Lei",
        proof=pdf_upload(),
        actor=finance,
        as_of=TODAY,
    )

    invoice = milestone_invoice_issue(
        milestone=active.milestones.get(sequence=2),
        number="INV-2",
        issue_date=delivered,
        actor=finance,
    )

    assert invoice.amount == Decimal("60000.00")
    assert invoice.due_date == delivered + timedelta(days=30)


def test_an_invoice_issued_after_the_due_date_falls_due_on_issue(active, finance):
    late = SIGNED + timedelta(days=20)

    invoice = milestone_invoice_issue(
        milestone=_advance(active), number="INV-LATE", issue_date=late, actor=finance
    )

    assert invoice.due_date == late


def test_milestone_invoices_are_not_refused_again_by_the_credit_check(active, finance, customer):
    # The customer went on hold and over its limit after the contract was approved:
    # the contract's amount already passed the check, so its milestones still bill.
    Customer.objects.filter(pk=customer.pk).update(
        credit_limit=Decimal("0.00"), credit_status=Customer.CreditStatus.ON_HOLD
    )

    invoice = milestone_invoice_issue(
        milestone=_advance(active), number="INV-1", issue_date=SIGNED, actor=finance
    )

    assert invoice.pk is not None
    assert not CreditOverride.objects.exists()


def test_a_used_invoice_number_is_refused_and_nothing_is_linked(active, finance):
    milestone_invoice_issue(
        milestone=_advance(active), number="INV-1", issue_date=SIGNED, actor=finance
    )
    delivery_record_create(
        contract=active,
        kind=DeliveryRecord.Kind.DELIVERY,
        occurred_on=TODAY,
        signer_name="Zhao Lei",
        proof=pdf_upload(),
        actor=finance,
        as_of=TODAY,
    )

    with pytest.raises(BusinessRuleError, match="already used") as refused:
        milestone_invoice_issue(
            milestone=active.milestones.get(sequence=2),
            number="INV-1",
            issue_date=TODAY,
            actor=finance,
        )

    assert refused.value.field == "number"
    assert active.milestones.get(sequence=2).invoice is None
    assert Invoice.objects.count() == 1


def test_only_finance_issues_milestone_invoices(active, rep):
    with pytest.raises(PermissionDenied):
        milestone_invoice_issue(
            milestone=_advance(active), number="INV-1", issue_date=SIGNED, actor=rep
        )


@pytest.mark.parametrize("fixture", ["draft", "approved"])
def test_milestones_are_invoiced_only_on_active_contracts(request, fixture, finance):
    contract = request.getfixturevalue(fixture)

    with pytest.raises(BusinessRuleError, match="active contract"):
        milestone_invoice_issue(
            milestone=_advance(contract), number="INV-1", issue_date=SIGNED, actor=finance
        )
