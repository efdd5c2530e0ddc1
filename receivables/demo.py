"""Demo customers, contacts and credit: every grade, every assessment state, a hold.

Idempotent: master data and contacts are updated in place, and saved only when
they changed (so a second seed adds no history rows); the credit story of a
customer (assessments, approvals, holds) is played through the services once,
when the customer has no assessment yet.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db.models import Model

from receivables.models import Contact, CreditAssessment, Customer
from receivables.models.credit import CreditFactor, CreditSource
from receivables.services.credit import (
    CreditAssessmentInput,
    credit_assessment_approve,
    credit_assessment_create,
    credit_assessment_reject,
    customer_hold,
)

# Scores per factor in CreditFactor order: industry position, operating
# condition, financial health, cooperation history, payment habits.
GRADE_A = (5, 4, 4, 5, 4)  # 4.30
GRADE_B = (4, 3, 4, 3, 3)  # 3.40
GRADE_C = (3, 3, 2, 3, 3)  # 2.75
GRADE_D = (2, 2, 1, 2, 2)  # 1.75


@dataclass(frozen=True)
class DemoAssessment:
    scores: tuple[int, ...]
    requested_limit: str
    requested_terms_days: int
    outcome: str  # draft, submitted, approved, rejected
    approved_limit: str = ""
    approved_terms_days: int = 0
    comment: str = ""
    sources: tuple[str, ...] = (CreditSource.PUBLIC_RECORDS, CreditSource.CREDIT_AGENCY)


@dataclass(frozen=True)
class DemoCustomer:
    code: str
    name: str
    industry: str
    owner: str
    language: str
    is_new: bool
    contacts: tuple[tuple[str, str, str, str], ...]  # role, name, email, phone
    assessments: tuple[DemoAssessment, ...] = ()
    hold_reason: str = ""
    registration_number: str = ""
    address: str = ""


def _finance(code: str, name: str = "") -> tuple[str, str, str, str]:
    return (
        Contact.Role.FINANCE,
        name or f"{code} Accounts Payable",
        f"ap.{code.lower()}@customer.example",
        "+86 21 5555 0100",
    )


DEMO_CUSTOMERS = (
    DemoCustomer(
        "C-1001",
        "上海华东机电有限公司",
        "Machinery",
        "rep1",
        "zh-hans",
        False,
        (
            _finance("C-1001", "王丽 (应付账款)"),
            (Contact.Role.EXECUTIVE, "陈总", "ceo@c-1001.customer.example", "+86 21 5555 0101"),
            (Contact.Role.PROCUREMENT, "刘强", "purchasing@c-1001.customer.example", ""),
        ),
        (
            DemoAssessment(
                GRADE_A,
                "600000.00",
                60,
                "approved",
                "500000.00",
                60,
                "Grade A; 500k covers the planned orders.",
            ),
        ),
        registration_number="91310000MA1FL0001X",
        address="上海市浦东新区张江路 100 号",
    ),
    DemoCustomer(
        "C-1002",
        "Shenzhen Bright Optics Ltd.",
        "Electronics",
        "rep1",
        "en",
        False,
        (
            _finance("C-1002", "Grace Lin"),
            (Contact.Role.EXECUTIVE, "David Zhou", "ceo@c-1002.customer.example", ""),
        ),
        (
            DemoAssessment(
                GRADE_B, "300000.00", 45, "approved", "300000.00", 45, "Standard terms."
            ),
            DemoAssessment(GRADE_B, "450000.00", 60, "submitted"),
        ),
    ),
    DemoCustomer(
        "C-1003",
        "北京远航物流有限公司",
        "Logistics",
        "rep1",
        "zh-hans",
        False,
        (_finance("C-1003"),),
        (
            DemoAssessment(
                GRADE_C,
                "150000.00",
                30,
                "approved",
                "150000.00",
                30,
                "Grade C: within the grade.",
            ),
        ),
    ),
    DemoCustomer(
        "C-1004",
        "成都新锐建材有限公司",
        "Building materials",
        "rep1",
        "zh-hans",
        True,
        ((Contact.Role.PROCUREMENT, "赵敏", "zhao.min@c-1004.customer.example", ""),),
        (
            DemoAssessment(
                GRADE_D,
                "100000.00",
                30,
                "rejected",
                comment="Grade D: prepayment or cash on delivery only.",
                sources=(CreditSource.PUBLIC_RECORDS,),
            ),
        ),
    ),
    DemoCustomer(
        "C-1005",
        "Suzhou Greenleaf Textiles Co.",
        "Textiles",
        "rep1",
        "en",
        True,
        (_finance("C-1005", "Helen Wu"),),
        (
            DemoAssessment(
                GRADE_B,
                "80000.00",
                30,
                "submitted",
                sources=(CreditSource.INDUSTRY_REPORT, CreditSource.PEER_REFERENCES),
            ),
        ),
    ),
    DemoCustomer(
        "C-2001",
        "杭州云帆软件有限公司",
        "Software",
        "rep2",
        "zh-hans",
        False,
        (_finance("C-2001"),),
        (
            DemoAssessment(
                GRADE_C,
                "400000.00",
                60,
                "rejected",
                comment="Financial statements missing; resubmit with the audited accounts.",
            ),
            DemoAssessment(
                GRADE_B, "200000.00", 30, "approved", "200000.00", 30, "Accounts received."
            ),
        ),
    ),
    DemoCustomer(
        "C-2002",
        "Guangzhou Harbour Foods Co.",
        "Food",
        "rep2",
        "en",
        False,
        (_finance("C-2002"),),
        (
            DemoAssessment(
                GRADE_C, "100000.00", 30, "approved", "80000.00", 15, "Lower limit, short terms."
            ),
        ),
    ),
    DemoCustomer(
        "C-2003",
        "厦门蓝海贸易有限公司",
        "Trading",
        "rep2",
        "zh-hans",
        True,
        (_finance("C-2003"),),
        (DemoAssessment(GRADE_C, "40000.00", 15, "draft", sources=()),),
    ),
    DemoCustomer(
        "C-2004",
        "Tianjin Northern Steel Co.",
        "Steel",
        "rep2",
        "en",
        False,
        (
            _finance("C-2004"),
            (Contact.Role.EXECUTIVE, "Li Gang", "gm@c-2004.customer.example", ""),
        ),
        (DemoAssessment(GRADE_C, "120000.00", 30, "approved", "120000.00", 30, "Within grade C."),),
        hold_reason="Two cheques bounced; on hold until the arrears are cleared.",
    ),
)


def _input(demo: DemoAssessment) -> CreditAssessmentInput:
    factors = list(CreditFactor)
    return CreditAssessmentInput(
        scores={f.value: score for f, score in zip(factors, demo.scores, strict=True)},
        justifications={
            f.value: f"Demo: {f.label} scored {score}."
            for f, score in zip(factors, demo.scores, strict=True)
        },
        sources=demo.sources,
        source_details="Demo data",
        requested_limit=Decimal(demo.requested_limit),
        requested_terms_days=demo.requested_terms_days,
    )


def _play_credit_story(
    *, customer: Customer, demo: DemoCustomer, users: dict[str, AbstractUser]
) -> None:
    rep, finance = users[demo.owner], users["finance1"]
    for step in demo.assessments:
        assessment = credit_assessment_create(
            actor=rep, customer=customer, data=_input(step), submit=step.outcome != "draft"
        )
        if step.outcome == CreditAssessment.Status.APPROVED:
            credit_assessment_approve(
                actor=finance,
                assessment=assessment,
                approved_limit=Decimal(step.approved_limit),
                approved_terms_days=step.approved_terms_days,
                comment=step.comment,
            )
        elif step.outcome == CreditAssessment.Status.REJECTED:
            credit_assessment_reject(actor=finance, assessment=assessment, comment=step.comment)
    if demo.hold_reason:
        customer_hold(customer=customer, actor=finance, reason=demo.hold_reason)


def _upsert(model: type[Model], *, defaults: dict[str, object], **lookup: object) -> Model:
    """Create the row or update the fields that differ; save nothing when none does, so a
    second seed adds no history rows."""
    instance, created = model.objects.get_or_create(**lookup, defaults=defaults)
    changed = [name for name, value in defaults.items() if getattr(instance, name) != value]
    if not created and changed:
        for name in changed:
            setattr(instance, name, defaults[name])
        instance.save(update_fields=changed)
    return instance


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    for demo in DEMO_CUSTOMERS:
        customer = _upsert(
            Customer,
            code=demo.code,
            defaults={
                "name": demo.name,
                "industry": demo.industry,
                "sales_rep": users[demo.owner],
                "language": demo.language,
                "is_new": demo.is_new,
                "registration_number": demo.registration_number,
                "address": demo.address,
            },
        )
        for role, name, email, phone in demo.contacts:
            _upsert(
                Contact,
                customer=customer,
                role=role,
                defaults={"name": name, "email": email, "phone": phone},
            )
        if not customer.credit_assessments.exists():
            _play_credit_story(customer=customer, demo=demo, users=users)
    stdout.write(
        f"  {len(DEMO_CUSTOMERS)} customers with contacts, credit assessments and a credit hold"
    )
