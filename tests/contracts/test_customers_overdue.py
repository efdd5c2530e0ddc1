"""Who has something overdue, the question the run's cases and the money's follow-up ask:
an invoice no approved plan replaces, or a plan's instalment, owing at least the tolerance,
today and as the book stood on an earlier date."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contracts.models import SupplementaryAgreement
from contracts.selectors.instalments import customer_ids_overdue
from dunning.services.agreements import InstalmentInput, agreement_approve, agreement_propose
from tests.factories.cases import overdue_invoice, pay_invoice
from tests.factories.customers import CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
TOLERANCE = Decimal("1.00")


@time_machine.travel(datetime(2026, 6, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
def test_the_customers_overdue_today_and_as_of_an_earlier_date():
    ensure_default_policy()
    rep = SalesRepFactory()

    def customer(code):
        return CustomerFactory(sales_rep=rep, currency="CNY", code=code)

    late = customer("LATE")
    overdue_invoice(customer=late, due=TODAY - timedelta(days=5))
    paid_since = customer("PAID-SINCE")
    invoice = overdue_invoice(customer=paid_since, due=TODAY - timedelta(days=20))
    pay_invoice(invoice=invoice, amount="1000.00", on=TODAY - timedelta(days=3))
    crumbs = customer("CRUMBS")
    invoice = overdue_invoice(customer=crumbs, due=TODAY - timedelta(days=20))
    pay_invoice(invoice=invoice, amount="999.50", on=TODAY - timedelta(days=25))
    not_yet = customer("NOT-YET")
    overdue_invoice(customer=not_yet, due=TODAY)
    on_plan, plan_late = customer("ON-PLAN"), customer("PLAN-LATE")
    for who, first_due in (
        (on_plan, TODAY + timedelta(days=10)),
        (plan_late, TODAY - timedelta(days=2)),
    ):
        replaced = overdue_invoice(customer=who, due=TODAY - timedelta(days=60))
        agreement = agreement_propose(
            customer=who,
            invoices=[replaced],
            kind=SupplementaryAgreement.Kind.INSTALMENT_PLAN,
            instalments=[
                InstalmentInput(due_date=first_due, amount=Decimal("400.00")),
                InstalmentInput(due_date=TODAY + timedelta(days=40), amount=Decimal("600.00")),
            ],
            reason="cash flow",
            actor=rep,
            as_of=TODAY - timedelta(days=30),
        )
        agreement_approve(
            agreement=agreement, actor=ManagerFactory(), as_of=TODAY - timedelta(days=30)
        )
    everyone = [late, paid_since, crumbs, not_yet, on_plan, plan_late]

    def overdue(as_of, customers):
        ids = customer_ids_overdue(as_of=as_of, tolerance=TOLERANCE, customer_ids=customers)
        return {c.code for c in everyone if c.pk in ids}

    assert overdue(TODAY, [c.pk for c in everyone]) == {"LATE", "PLAN-LATE"}
    assert overdue(TODAY, None) == {"LATE", "PLAN-LATE"}
    assert overdue(TODAY, [late.pk, on_plan.pk]) == {"LATE"}
    assert overdue(TODAY, []) == set()
    # Before the payment, the paid invoice was overdue; the plan's first instalment was not yet due.
    assert overdue(TODAY - timedelta(days=4), None) == {"LATE", "PAID-SINCE"}
