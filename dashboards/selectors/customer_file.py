"""The customer file: one customer's receivables and collection, section by section.

Each section is read with a fixed number of queries (lists are cut to their
latest rows and carry their full count), so the customer page costs the same
whatever the customer's history. The customer has been fetched in the
user's scope by the page; everything here hangs off it.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    DateField,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)

from contracts.models import AgreementInstalment, Contract, PaymentMilestone
from contracts.selectors.instalments import customer_oldest_overdue_due, customer_overdue_amount
from dashboards.selectors.common import User
from dashboards.selectors.kpis import RANK_LEVELS, customer_rung
from dunning.models import (
    CaseEvent,
    CollectionCase,
    Communication,
    Dispute,
    LevelCode,
    PromiseToPay,
)
from dunning.policy import policy_tolerance_expression
from dunning.selectors import (
    case_task_list_open,
    customer_agreement_list,
    customer_dispute_list,
    customer_open_case_relation,
    customer_promise_list,
)
from receivables.models import CreditAssessment, Customer, Payment
from receivables.selectors.balances import MONEY_FIELD, cents
from receivables.selectors.invoices import payments_with_allocated

PAYMENT_ROWS = 10
CONTRACT_ROWS = 10
TIMELINE_ROWS = 50
LETTER_ROWS = 20
GRADE_LABELS = dict(CreditAssessment._meta.get_field("grade").flatchoices)


@dataclass(frozen=True)
class CustomerSummary:
    """The head of the collection file: grade, oldest overdue, ladder rung and case."""

    grade: str
    grade_label: str
    assessed_on: date | None
    overdue: Decimal
    oldest_overdue_days: int | None
    rung_level: str
    rung_label: str
    case: CollectionCase | None


def customer_summary(*, customer: Customer, as_of: date) -> CustomerSummary:
    """The customer's grade (last approved assessment), what is overdue and since when, rung
    and case; after an approved plan, its instalments past their own due dates are overdue,
    not the invoices it replaced."""
    approved = CreditAssessment.objects.filter(
        customer=OuterRef("pk"), status=CreditAssessment.Status.APPROVED
    ).order_by("-decided_at", "-pk")
    tolerance = policy_tolerance_expression()
    # One query: the figures as annotations, the open case joined alongside.
    row = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(
            rung=customer_rung(as_of=as_of),
            oldest=customer_oldest_overdue_due(as_of=as_of, tolerance=tolerance),
            overdue=customer_overdue_amount(as_of=as_of, tolerance=tolerance),
            grade=Subquery(approved.values("grade")[:1]),
            decided_at=Subquery(approved.values("decided_at")[:1]),
            open_case=customer_open_case_relation(),
        )
        .select_related("open_case")
        .get()
    )
    rank, oldest, overdue, grade, decided_at = (
        row.rung,
        row.oldest,
        row.overdue,
        row.grade,
        row.decided_at,
    )
    level = RANK_LEVELS.get(rank, "")
    return CustomerSummary(
        grade=grade or "",
        grade_label=str(GRADE_LABELS.get(grade, grade)) if grade else "",
        assessed_on=decided_at.date() if decided_at else None,
        overdue=cents(overdue),
        oldest_overdue_days=(as_of - oldest).days if oldest else None,
        rung_level=level,
        rung_label=str(LevelCode(level).label) if level else "",
        # Django sets the joined relation only when a row matched (no open case: unset).
        case=getattr(row, "open_case", None),
    )


@dataclass(frozen=True)
class Section:
    """Rows of a section and how many there are in all."""

    rows: list
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


def _section(queryset: QuerySet, *, limit: int) -> Section:
    # The full count comes with the rows (a window count): one query a section.
    rows = list(queryset.annotate(section_size=Window(Count("pk")))[:limit])
    return Section(rows=rows, count=rows[0].section_size if rows else 0)


def customer_contracts(*, customer: Customer, limit: int = CONTRACT_ROWS) -> Section:
    """The customer's contracts, newest first, with milestones and their invoices."""
    contracts = (
        Contract.objects.filter(customer=customer)
        .prefetch_related(
            Prefetch(
                "milestones",
                queryset=PaymentMilestone.objects.select_related("invoice").order_by("sequence"),
            )
        )
        .annotate(delivery_count=Count("delivery_records"))
        .order_by("-created_at", "-pk")
    )
    return _section(contracts, limit=limit)


def customer_payments(*, customer: Customer, limit: int = PAYMENT_ROWS) -> Section:
    """The customer's payments, newest first, with what is allocated and what is left."""
    # The count as a scalar subquery, not a window: with a window PostgreSQL reads every
    # payment the customer ever made before keeping the newest few (the largest customer
    # of the 1M book: 0.97 s against 0.15 s for the page).
    count = (
        Payment.objects.filter(customer=customer)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = list(
        payments_with_allocated(Payment.objects.filter(customer=customer))
        .annotate(section_size=Subquery(count))
        .order_by("-payment_date", "-pk")[:limit]
    )
    return Section(rows=rows, count=rows[0].section_size if rows else 0)


@dataclass(frozen=True)
class CaseFile:
    """The collection side of the file: case, tasks, promises, disputes, plans, timeline."""

    case: CollectionCase | None
    tasks: list
    promises: Section
    disputes: Section
    agreements: Section
    timeline: Section


def customer_case_file(
    *, customer: Customer, case: CollectionCase | None, limit: int = TIMELINE_ROWS
) -> CaseFile:
    """The open case (given), its tasks, promises, disputes, agreements and the timeline."""
    timeline = (
        CaseEvent.objects.filter(customer=customer)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )
    # The lists' own prefetches would cost a query each: their details come in one below.
    promises = _section(customer_promise_list(customer=customer).prefetch_related(None), limit=10)
    disputes = _section(customer_dispute_list(customer=customer).prefetch_related(None), limit=10)
    agreements = _section(
        customer_agreement_list(customer=customer).prefetch_related(None), limit=10
    )
    _case_details_attach(promises=promises.rows, disputes=disputes.rows, agreements=agreements.rows)
    return CaseFile(
        case=case,
        tasks=list(case_task_list_open(customer=customer)[:20]),
        promises=promises,
        disputes=disputes,
        agreements=agreements,
        timeline=_section(timeline, limit=limit),
    )


@dataclass(frozen=True)
class InstalmentLine:
    due_date: date
    amount: Decimal


def _case_details_attach(*, promises: list, disputes: list, agreements: list) -> None:
    """Give each promise and dispute its `invoice_numbers` (by number) and each agreement
    its `instalment_lines` (by sequence), read together in one query (a union)."""
    for row in (*promises, *disputes):
        row.invoice_numbers = []
    for row in agreements:
        row.instalment_lines = []
    if not (promises or disputes or agreements):
        return
    # Every branch selects the same columns: kind, owner, invoice number, sequence, due, amount.
    # Instalments come first: their typed columns give the union's types.
    branches = [
        AgreementInstalment.objects.filter(agreement__in=[row.pk for row in agreements])
        .order_by()
        .annotate(
            kind=Value("agreement"),
            owner=F("agreement_id"),
            number=Value(None, output_field=CharField()),
            position=F("sequence"),
            due=F("due_date"),
            money=F("amount"),
        )
        .values_list("kind", "owner", "number", "position", "due", "money")
    ]
    for kind, model, owner, rows in (
        ("promise", PromiseToPay, "promisetopay_id", promises),
        ("dispute", Dispute, "dispute_id", disputes),
    ):
        branches.append(
            model.invoices.through.objects.filter(**{f"{owner}__in": [row.pk for row in rows]})
            .order_by()
            .annotate(
                kind=Value(kind),
                owner=F(owner),
                number=F("invoice__number"),
                position=Value(None, output_field=IntegerField()),
                due=Value(None, output_field=DateField()),
                money=Value(None, output_field=MONEY_FIELD),
            )
            .values_list("kind", "owner", "number", "position", "due", "money")
        )
    by_owner = {
        **{("promise", row.pk): row for row in promises},
        **{("dispute", row.pk): row for row in disputes},
        **{("agreement", row.pk): row for row in agreements},
    }
    details = sorted(
        branches[0].union(*branches[1:], all=True),
        key=lambda line: (line[3] or 0, line[2] or ""),
    )
    for kind, owner, number, _position, due, money in details:
        row = by_owner[(kind, owner)]
        if kind == "agreement":
            row.instalment_lines.append(InstalmentLine(due_date=due, amount=money))
        else:
            row.invoice_numbers.append(number)


def customer_letters(*, customer: Customer, limit: int = LETTER_ROWS) -> Section:
    """The customer's dunning messages that carry a letter, or are letters, newest first."""
    letters = (
        Communication.objects.filter(customer=customer)
        .filter(Q(level=LevelCode.DEMAND_LETTER) | ~Q(letter_pdf=""))
        .select_related("approved_by")
        .order_by("-business_date", "-pk")
    )
    return _section(letters, limit=limit)


def customer_file_get(*, user: User, customer: Customer, as_of: date) -> dict[str, object]:
    """Every section of the customer file (a bounded number of queries).

    The balance, open invoices and ageing sit on the page already (receivables
    panels); these are the collection sections around them.
    """
    del user  # the page fetched the customer in the user's scope; all below hangs off it
    summary = customer_summary(customer=customer, as_of=as_of)
    return {
        "summary": summary,
        "contracts": customer_contracts(customer=customer),
        "payments": customer_payments(customer=customer),
        "case_file": customer_case_file(customer=customer, case=summary.case),
        "letters": customer_letters(customer=customer),
    }
