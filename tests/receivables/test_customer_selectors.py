"""Reads: the finance-contact flag, the approval queue and the customer's audit timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from receivables.models import Contact, CreditAssessment
from receivables.selectors.credit import credit_assessment_list_pending
from receivables.selectors.customers import contact_list, customer_history, customer_list
from receivables.services.credit import (
    credit_assessment_approve,
    credit_assessment_create,
    credit_check,
    customer_hold,
)
from receivables.services.customers import contact_create, contact_delete, customer_update
from tests.factories.credit import CreditAssessmentFactory, credit_assessment_input
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


def test_the_customer_list_flags_customers_without_a_finance_contact():
    rep = SalesRepFactory()
    covered = CustomerFactory(sales_rep=rep)
    ContactFactory(customer=covered, role=Contact.Role.FINANCE)
    uncovered = CustomerFactory(sales_rep=rep)
    ContactFactory(customer=uncovered, role=Contact.Role.PROCUREMENT)

    flags = {c.pk: c.has_finance_contact for c in customer_list(user=rep)}

    assert flags == {covered.pk: True, uncovered.pk: False}


def test_contacts_list_finance_first():
    customer = CustomerFactory()
    ContactFactory(customer=customer, role=Contact.Role.OTHER, name="A")
    ContactFactory(customer=customer, role=Contact.Role.PROCUREMENT, name="B")
    ContactFactory(customer=customer, role=Contact.Role.FINANCE, name="C")
    ContactFactory(customer=customer, role=Contact.Role.EXECUTIVE, name="D")

    assert [c.role for c in contact_list(customer=customer)] == [
        "finance",
        "executive",
        "procurement",
        "other",
    ]


def test_the_approval_queue_lists_submitted_assessments_oldest_first():
    now = timezone.now()
    newer = CreditAssessmentFactory(status="submitted", submitted_at=now - timedelta(hours=1))
    older = CreditAssessmentFactory(status="submitted", submitted_at=now - timedelta(days=2))
    CreditAssessmentFactory(status="draft")
    CreditAssessmentFactory(status="approved", submitted_at=now - timedelta(days=9))

    assert list(credit_assessment_list_pending()) == [older, newer]


def test_the_timeline_tells_who_changed_what_from_what_to_what():
    rep, finance = SalesRepFactory(username="rep1"), FinanceUserFactory(username="finance1")
    customer = CustomerFactory(sales_rep=rep, is_new=False, credit_limit=0, payment_terms_days=0)
    contact = contact_create(
        actor=rep, customer=customer, name="Wang", role="finance", email="w@customer.example"
    )
    customer_update(actor=rep, customer=customer, industry="Optics")
    assessment = credit_assessment_create(
        actor=rep,
        customer=customer,
        data=credit_assessment_input(requested_limit="100000", requested_terms_days=45),
        submit=True,
    )
    credit_assessment_approve(
        actor=finance,
        assessment=assessment,
        approved_limit="80000",
        approved_terms_days=30,
        comment="Lower to start.",
    )
    customer_hold(customer=customer, actor=finance, reason="Bounced cheque.")
    credit_check(
        customer=customer,
        amount=Decimal("1000"),
        actor=finance,
        override_reason="Spare parts.",
        reference="INV-7",
    )
    contact_delete(actor=rep, contact=contact)

    history = customer_history(customer=customer)

    lines = [
        (
            e.user,
            e.subject,
            e.action,
            tuple((c.field, c.old, c.new) for c in e.changes),
            e.note,
        )
        for e in history
    ]
    assert (
        "finance1",
        "Customer",
        "changed",
        (("credit limit", "0.00", "80,000.00"), ("payment terms (days)", "0", "30")),
        f"Credit assessment #{assessment.pk} approved",
    ) in lines
    assert (
        "finance1",
        f"Credit assessment #{assessment.pk}",
        "changed",
        (
            ("approved limit", "—", "80,000.00"),
            ("approved terms (days)", "—", "30"),
            ("status", "Submitted", "Approved"),
        ),
        "",
    ) in lines
    assert (
        "rep1",
        f"Credit assessment #{assessment.pk}",
        "created",
        (
            ("status", "—", "Submitted"),
            ("grade", "—", "C (fair)"),
            ("requested limit", "—", "100,000.00"),
            ("requested terms (days)", "—", "45"),
        ),
        "",
    ) in lines
    assert ("rep1", "Customer", "changed", (("industry", "—", "Optics"),), "") in lines
    assert ("rep1", "Contact Wang (Finance)", "created", (), "") in lines
    assert ("rep1", "Contact Wang (Finance)", "deleted", (), "") in lines
    assert ("finance1", "Credit hold", "Put on hold", (), "Finance: Bounced cheque.") in lines
    assert (
        "finance1",
        "Credit check",
        "overridden",
        (("Exposure", "0.00", "1,000.00"),),
        "INV-7 · Spare parts.",
    ) in lines
    assert [e.at for e in history] == sorted((e.at for e in history), reverse=True)


def test_the_timeline_of_an_assessment_does_not_leak_another_customers_records():
    assessment = CreditAssessmentFactory()
    other = CustomerFactory()

    assert all(
        f"#{assessment.pk}" not in entry.subject for entry in customer_history(customer=other)
    )
    assert CreditAssessment.objects.count() == 1
