"""Demo acceptance bills: held ones maturing within 30, 60 and 90 days, and one each
endorsed, discounted and collected. Each pays an invoice of its own (issued here), so the
rest of the demo book keeps its figures. Idempotent: an existing bill number is left alone.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.utils import timezone

from bills.models import AcceptanceBill
from bills.services.bills import (
    BillInput,
    acceptance_bill_collect,
    acceptance_bill_discount,
    acceptance_bill_endorse,
    acceptance_bill_receive,
)
from receivables.models import Customer, Invoice
from receivables.services.invoices import invoice_issue


@dataclass(frozen=True)
class DemoBill:
    customer: str
    number: str
    kind: str
    acceptor: str
    face: str
    received_days_ago: int
    matures_in_days: int  # from today; negative: already matured
    then: str = ""  # "endorse", "discount" or "collect"


BANK = AcceptanceBill.Kind.BANK
COMMERCIAL = AcceptanceBill.Kind.COMMERCIAL
DEMO_BILLS = (
    DemoBill("C-1001", "DEMO-BA-110", BANK, "中国工商银行上海分行", "36000.00", 20, 18),
    DemoBill("C-1002", "DEMO-BA-120", BANK, "招商银行苏州分行", "52000.00", 30, 47),
    DemoBill(
        "C-2001", "DEMO-CA-130", COMMERCIAL, "Shenzhen Bright Trading Co.", "18500.00", 15, 80
    ),
    DemoBill("C-1001", "DEMO-BA-140", BANK, "中国银行上海分行", "24000.00", 40, 60, "endorse"),
    DemoBill("C-1002", "DEMO-BA-150", BANK, "宁波银行", "100000.00", 45, 120, "discount"),
    DemoBill("C-2001", "DEMO-BA-160", BANK, "交通银行深圳分行", "15800.00", 150, -10, "collect"),
)


def _seed_bill(demo: DemoBill, customer: Customer, finance: AbstractUser, today: date) -> bool:
    if AcceptanceBill.objects.filter(number=demo.number).exists():
        return False
    received = today - timedelta(days=demo.received_days_ago)
    face = Decimal(demo.face)
    invoice = Invoice.objects.filter(number=f"INV-{demo.number}").first() or invoice_issue(
        customer=customer,
        number=f"INV-{demo.number}",
        issue_date=received - timedelta(days=30),
        due_date=received,
        amount=face,
        currency=customer.currency,
        actor=finance,
        # Demo history, not new exposure: like an import, no credit check.
        check_credit=False,
    )
    bill = acceptance_bill_receive(
        customer=customer,
        bill=BillInput(
            number=demo.number,
            kind=demo.kind,
            acceptor=demo.acceptor,
            drawer=customer.name,
            issue_date=received - timedelta(days=2),
            maturity_date=today + timedelta(days=demo.matures_in_days),
            face_amount=face,
            currency=customer.currency,
        ),
        received_on=received,
        actor=finance,
        allocations=[(invoice, invoice.outstanding)] if invoice.outstanding else [],
    )
    later = min(received + timedelta(days=10), today)
    if demo.then == "endorse":
        acceptance_bill_endorse(
            bill=bill, endorsee="上海精工材料有限公司", endorsed_on=later, actor=finance
        )
    elif demo.then == "discount":
        acceptance_bill_discount(
            bill=bill,
            discounted_on=later,
            discount_amount=Decimal("1187.50"),
            actor=finance,
        )
    elif demo.then == "collect":
        acceptance_bill_collect(bill=bill, collected_on=bill.maturity_date, actor=finance)
    return True


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    today = timezone.localdate()
    customers = Customer.objects.in_bulk(
        list({demo.customer for demo in DEMO_BILLS}), field_name="code"
    )
    created = sum(
        _seed_bill(demo, customers[demo.customer], users["finance1"], today)
        for demo in DEMO_BILLS
        if demo.customer in customers
    )
    stdout.write(f"  {created} acceptance bills created ({len(DEMO_BILLS)} in the demo)")
