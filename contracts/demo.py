"""Demo contracts in every state, played through the services so history and rules hold.

Idempotent: a contract whose number exists is left as it is. Dates are
relative to the day of seeding, so the demo always has something due, overdue
and waiting. Runs after the receivables demo (customers, credit limits).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.utils import timezone

from contracts.models import Contract, DeliveryRecord, PaymentMilestone
from contracts.services import (
    ContractData,
    MilestoneData,
    contract_activate,
    contract_close,
    contract_create,
    contract_review,
    contract_submit_for_review,
    delivery_record_create,
    milestone_invoice_issue,
    milestone_trigger_record,
)
from receivables.models import Customer
from receivables.services.payments import payment_record

T = PaymentMilestone.Trigger
# Demo credit limits are small; when a story would exceed one, finance
# overrides the check with this reason (logged like any override).
OVERRIDE_REASON = "Demo: covered by a bank guarantee on file."


def proof_pdf(*lines: str) -> bytes:
    """A one-page PDF with a few lines of text, standing in for a scanned proof.

    ASCII only: the built-in Helvetica has no CJK glyphs, and embedding a font
    would make the demo depend on WeasyPrint (kept to dunning/pdf.py).
    """
    text = "BT /F1 12 Tf 40 160 Td 16 TL " + " ".join(
        "({}) '".format(line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
        for line in lines
    )
    content = f"{text} ET".encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 200] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class DemoContract:
    number: str
    customer: str
    title: str
    amount: str
    milestones: tuple[tuple[str, str, str, int], ...]  # description, percent, trigger, offset
    # What happens after drafting; None leaves a draft the rep is still negotiating.
    story: Callable[[Contract, "Actors"], None] | None
    credit_terms_days: int = 30
    payment_type: str = Contract.PaymentType.INSTALMENTS
    fixed_dates: dict[int, int] = field(default_factory=dict)  # sequence -> days from today


def _data(demo: DemoContract, customer: Customer) -> ContractData:
    # A contract is written in its customer's language: its clauses appear as written
    # in the customer's letters.
    chinese = customer.language.startswith("zh")
    return ContractData(
        number=demo.number,
        title=demo.title,
        amount=Decimal(demo.amount),
        currency=customer.currency,
        payment_type=demo.payment_type,
        credit_terms_days=demo.credit_terms_days,
        payee_account_name="回款示范贸易有限公司" if chinese else "Huikuan Demo Trading Co., Ltd.",
        payee_bank_name="中国银行上海浦东分行"
        if chinese
        else "Bank of China, Shanghai Pudong Branch",
        payee_bank_account="4567 8901 2345 6789 012",
        late_fee_rate_percent=Decimal("0.05"),
        late_fee_grace_days=3,
        late_fee_cap_percent=Decimal("20"),
        dispute_resolution_clause=(
            "争议由双方协商解决；协商不成的，提交上海国际仲裁中心按其规则仲裁。"
            if chinese
            else "Disputes are settled by negotiation; failing that, by the Shanghai "
            "International Arbitration Centre under its rules."
        ),
    )


def _milestones(demo: DemoContract, today: date) -> list[MilestoneData]:
    return [
        MilestoneData(
            description=description,
            percent=Decimal(percent),
            trigger=trigger,
            offset_days=offset,
            fixed_date=today + timedelta(days=demo.fixed_dates[sequence])
            if sequence in demo.fixed_dates
            else None,
        )
        for sequence, (description, percent, trigger, offset) in enumerate(demo.milestones, start=1)
    ]


@dataclass
class Actors:
    rep: AbstractUser
    finance: AbstractUser
    today: date


def _submit(contract: Contract, a: Actors) -> None:
    contract_submit_for_review(contract=contract, actor=a.rep)


def _approve(contract: Contract, a: Actors, *, terms_reason: str = "") -> None:
    _submit(contract, a)
    contract_review(
        contract=contract,
        actor=a.finance,
        approve=True,
        comment="Payment clauses checked.",
        terms_approval_reason=terms_reason,
        credit_override_reason=OVERRIDE_REASON,
    )


def _activate(contract: Contract, a: Actors, *, signed_days_ago: int) -> None:
    _approve(contract, a)
    contract_activate(
        contract=contract,
        actor=a.finance,
        signed_date=a.today - timedelta(days=signed_days_ago),
        as_of=a.today,
        credit_override_reason=OVERRIDE_REASON,
    )


def _record(contract: Contract, a: Actors, *, kind: str, days_ago: int, signer: str) -> None:
    occurred = a.today - timedelta(days=days_ago)
    label = "Delivery note" if kind == DeliveryRecord.Kind.DELIVERY else "Acceptance certificate"
    delivery_record_create(
        contract=contract,
        kind=kind,
        occurred_on=occurred,
        signer_name=signer,
        proof=ContentFile(
            proof_pdf(
                f"{label} - contract {contract.number}",
                f"Date: {occurred.isoformat()}",
                f"Received and signed by: {signer}",
            ),
            name=f"{contract.number}-{kind}.pdf",
        ),
        actor=a.finance,
        as_of=a.today,
    )


def _invoice(contract: Contract, a: Actors, sequence: int) -> None:
    milestone = contract.milestones.get(sequence=sequence)
    milestone_invoice_issue(
        milestone=milestone,
        number=f"{contract.number}-{sequence:02d}",
        issue_date=min(milestone.trigger_date, a.today),
        actor=a.finance,
    )


def _story_in_review(contract: Contract, a: Actors) -> None:
    _submit(contract, a)


def _story_returned(contract: Contract, a: Actors) -> None:
    _submit(contract, a)
    contract_review(
        contract=contract,
        actor=a.finance,
        approve=False,
        comment="Name the arbitration seat and attach the customer's bank details.",
    )


def _story_approved_longer_terms(contract: Contract, a: Actors) -> None:
    _approve(contract, a, terms_reason="Two years of punctual payment; 45 days agreed once.")


def _story_running(contract: Contract, a: Actors) -> None:
    """Signed 75 days ago; delivered 50 days ago (invoiced, now overdue); acceptance pending."""
    _activate(contract, a, signed_days_ago=75)
    _invoice(contract, a, 1)
    _record(contract, a, kind=DeliveryRecord.Kind.DELIVERY, days_ago=50, signer="Wang Li")
    _invoice(contract, a, 2)


def _story_fixed_date(contract: Contract, a: Actors) -> None:
    """Deposit invoiced at signing; the balance falls due on a fixed date next month."""
    _activate(contract, a, signed_days_ago=20)
    _invoice(contract, a, 1)


def _story_warranty(contract: Contract, a: Actors) -> None:
    """Delivered, accepted and invoiced; the retention waits for the end of the warranty."""
    _activate(contract, a, signed_days_ago=120)
    _record(contract, a, kind=DeliveryRecord.Kind.DELIVERY, days_ago=100, signer="Grace Lin")
    _record(contract, a, kind=DeliveryRecord.Kind.ACCEPTANCE, days_ago=90, signer="David Zhou")
    _invoice(contract, a, 1)
    _invoice(contract, a, 2)


def _story_closed(contract: Contract, a: Actors) -> None:
    """Delivered, invoiced, paid in full and closed."""
    _activate(contract, a, signed_days_ago=150)
    _record(contract, a, kind=DeliveryRecord.Kind.DELIVERY, days_ago=140, signer="Helen Wu")
    _invoice(contract, a, 1)
    invoice = contract.milestones.get(sequence=1).invoice
    payment_record(
        customer=contract.customer,
        payment_date=a.today - timedelta(days=110),
        amount=invoice.amount,
        currency=invoice.currency,
        reference=f"DEMO-{contract.number}",
        actor=a.finance,
        allocations=[(invoice, invoice.amount)],
    )
    contract_close(contract=contract, actor=a.finance)


def _story_retention_ended(contract: Contract, a: Actors) -> None:
    """The warranty ended last week: the retention is due and not invoiced yet."""
    _activate(contract, a, signed_days_ago=400)
    _invoice(contract, a, 1)
    milestone_trigger_record(
        milestone=contract.milestones.get(sequence=2),
        event_date=a.today - timedelta(days=7),
        actor=a.finance,
        as_of=a.today,
    )


STANDARD = (
    ("Advance payment on signing", "30", T.SIGNING, 10),
    ("On delivery", "60", T.DELIVERY, 30),
    ("After acceptance", "10", T.ACCEPTANCE, 15),
)

DEMO_CONTRACTS = (
    DemoContract("HT-DEMO-001", "C-1001", "Packaging line PL-400", "180000.00", STANDARD, None),
    DemoContract(
        "HT-DEMO-002",
        "C-1002",
        "Lens grinding machines",
        "120000.00",
        (("Deposit", "50", T.SIGNING, 7), ("On acceptance", "50", T.ACCEPTANCE, 30)),
        _story_in_review,
    ),
    DemoContract("HT-DEMO-003", "C-2001", "Server racks", "90000.00", STANDARD, _story_returned),
    DemoContract(
        "HT-DEMO-004",
        "C-1003",
        "Forklift fleet service",
        "60000.00",
        (("On delivery", "100", T.DELIVERY, 45),),
        _story_approved_longer_terms,
        credit_terms_days=45,
        payment_type=Contract.PaymentType.CREDIT_TERMS,
    ),
    DemoContract("HT-DEMO-005", "C-1001", "Assembly robots", "240000.00", STANDARD, _story_running),
    DemoContract(
        "HT-DEMO-006",
        "C-2002",
        "Cold-storage panels",
        "50000.00",
        (("Deposit", "40", T.SIGNING, 5), ("Balance", "60", T.FIXED_DATE, 0)),
        _story_fixed_date,
        credit_terms_days=15,
        fixed_dates={2: 35},
    ),
    DemoContract(
        "HT-DEMO-007",
        "C-1002",
        "Optical test benches",
        "75000.00",
        (
            ("On delivery", "60", T.DELIVERY, 30),
            ("After acceptance", "35", T.ACCEPTANCE, 30),
            ("Retention after warranty", "5", T.WARRANTY_END, 30),
        ),
        _story_warranty,
    ),
    DemoContract(
        "HT-DEMO-008",
        "C-2001",
        "Licence and installation",
        "30000.00",
        (("On delivery", "100", T.DELIVERY, 20),),
        _story_closed,
    ),
    DemoContract(
        "HT-DEMO-009",
        "C-1003",
        "Warehouse racking",
        "40000.00",
        (("On signing", "90", T.SIGNING, 15), ("Retention", "10", T.WARRANTY_END, 30)),
        _story_retention_ended,
    ),
)


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    today = timezone.localdate()
    customers = Customer.objects.in_bulk(
        [demo.customer for demo in DEMO_CONTRACTS], field_name="code"
    )
    created = 0
    for demo in DEMO_CONTRACTS:
        customer = customers.get(demo.customer)
        if customer is None or Contract.objects.filter(number=demo.number).exists():
            continue
        actors = Actors(rep=customer.sales_rep, finance=users["finance1"], today=today)
        contract = contract_create(
            actor=actors.rep,
            customer=customer,
            data=_data(demo, customer),
            milestones=_milestones(demo, today),
        )
        if demo.story is not None:
            demo.story(contract, actors)
        created += 1
    stdout.write(
        f"  {created} contracts created ({len(DEMO_CONTRACTS)} in the demo: every state, "
        "milestones triggered and not, deliveries with proof, milestone invoices)"
    )
