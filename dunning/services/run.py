"""The daily dunning run (DESIGN.md, Rules): which items reach which level on a business date.

Exactly once, whatever happens:

* one `DunningRun` row per business date; repeating the date reuses it;
* the run is split into chunks of customers; a chunk is one transaction that
  locks its customers (in pk order, so two workers on overlapping chunks
  queue instead of deadlocking), inserts the due steps set-based with
  `INSERT … SELECT … ON CONFLICT DO NOTHING` against the unique
  `(item, level)`, and builds messages only from the rows it inserted;
* a chunk killed half-way leaves nothing behind; repeated, it starts afresh
  and any step another worker already wrote is skipped by the constraint;
* the database owns the leases: a chunk carries when it was last handed to a
  worker (`claimed_at`), and `dunning_chunks_recover` hands out again every
  pending chunk whose lease expired and whose row no worker holds, so a
  killed worker or a Redis that lost its queue delays a chunk by a lease,
  never forever; `dunning_runs_finish` completes runs whose chunks are done.

Messages are created `pending` (or `awaiting_approval`); `dunning.services.send`
delivers them after this transaction commits.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    UUIDField,
    Value,
)
from django.db.models import Count as CountAgg
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import customer_ids_overdue
from core.db.rows import rows_insert
from core.domain_events import (
    DomainEvent,
    EventType,
    domain_event_types_wanted,
    domain_events_announce,
)
from core.exceptions import BusinessRuleError
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    DunningLevel,
    DunningPolicy,
    DunningRun,
    DunningRunChunk,
    DunningStep,
    LevelCode,
    agreements_first_invoice,
    instalment_label_of,
)
from dunning.policy import policy_active, pre_due_last_due, pre_due_q
from dunning.services.communications import BatchStep, communications_build_many
from dunning.services.items import (
    SKIP_REASONS,
    dunnable,
    dunnable_q,
    instalment_items,
    invoice_items,
    skip_conditions,
)
from dunning.services.rungs import invoices_rung_refresh
from receivables.models import Customer, Invoice
from receivables.selectors.balances import invoices_maybe_open_as_of, open_q

logger = logging.getLogger(__name__)

# A rung counts as reached for the gap only once it was carried out: its
# message sent, or handled by phone from the finance desk, or a task it made
# done. A message still waiting (approval, an SMTP outage) or undelivered
# holds the ladder. A cancelled one (items settled, or refused by finance)
# was decided, and its level can never fire again for the item: it counts,
# or a reversed payment would leave the item stuck below the next rung.
REACHED = (
    Q(communication__isnull=True)
    | Q(communication__status__in=[Communication.Status.SENT, Communication.Status.CANCELLED])
    | Q(communication__handled_at__isnull=False)
    | Q(communication__tasks__status=CollectionTask.Status.DONE)
)
LEVEL_ORDER = {code: position for position, code in enumerate(LevelCode.values)}


@dataclass(frozen=True)
class CreatedCommunication:
    """A message this run created, as the run_dunning command reports it."""

    communication_id: int
    customer_code: str
    level: str
    currency: str
    channels: list[str]
    invoices: list[str]
    status: str

    def as_json(self) -> dict[str, object]:
        return {
            "customer_code": self.customer_code,
            "level": self.level,
            "currency": self.currency,
            "channels": self.channels,
            "invoices": self.invoices,
        }


@dataclass
class ChunkResult:
    communications: list[CreatedCommunication] = field(default_factory=list)
    steps_created: int = 0
    already_done: bool = False

    @property
    def pending_ids(self) -> list[int]:
        return [
            created.communication_id
            for created in self.communications
            if created.status == Communication.Status.PENDING
        ]


@dataclass
class RunResult:
    """What one call of run_dunning did for its business date."""

    as_of: date
    run_id: int
    chunk_ids: list[int]
    dispatched: bool = False
    communications: list[CreatedCommunication] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    steps_created: int = 0
    failed_chunks: list[int] = field(default_factory=list)

    def add(self, chunk: ChunkResult) -> None:
        self.communications.extend(chunk.communications)
        self.steps_created += chunk.steps_created

    def sorted_communications(self) -> list[CreatedCommunication]:
        return sorted(
            self.communications,
            key=lambda c: (c.customer_code, LEVEL_ORDER.get(c.level, 99), c.currency),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "communications": [c.as_json() for c in self.sorted_communications()],
            "skipped": {reason: self.skipped.get(reason, 0) for reason in SKIP_REASONS},
        }


def dunning_policy_active() -> DunningPolicy:
    """Return the active policy, or refuse to run without one."""
    policy = policy_active(with_levels=True)
    if policy is None:
        raise BusinessRuleError(_("No dunning policy is active; activate one in the admin."))
    return policy


def run_dunning(
    *,
    as_of: date,
    chunk_size: int | None = None,
    chunk_items: int | None = None,
    dispatch: Callable[[int], None] | None = None,
) -> RunResult:
    """Run the ladder for a business date, chunk by chunk, or hand the chunks to `dispatch`.

    A chunk holds at most `chunk_size` customers (`DUNNING_CHUNK_SIZE`) and, past its
    first customer, at most `chunk_items` items due (`DUNNING_CHUNK_ITEMS`). Without
    `dispatch` every chunk is processed here, one transaction each; a chunk that fails is
    recorded and the others go on. With `dispatch` (the Celery fan-out) each chunk id is
    handed over once the plan commits.
    """
    policy = dunning_policy_active()
    run, chunk_ids = _run_plan(
        as_of=as_of,
        policy=policy,
        chunk_size=chunk_size or settings.DUNNING_CHUNK_SIZE,
        chunk_items=chunk_items or settings.DUNNING_CHUNK_ITEMS,
    )
    result = RunResult(
        as_of=as_of, run_id=run.pk, chunk_ids=chunk_ids, skipped=Counter(run.skipped)
    )
    if dispatch is not None:
        for chunk_id in chunk_ids:
            dispatch(chunk_id)
        result.dispatched = True
        if not chunk_ids:
            dunning_run_finish(run_id=run.pk)
        return result
    for chunk_id in chunk_ids:
        try:
            result.add(dunning_chunk_process(chunk_id=chunk_id))
        except Exception:
            logger.exception("dunning chunk %s of %s failed", chunk_id, as_of)
            result.failed_chunks.append(chunk_id)
    dunning_run_finish(run_id=run.pk)
    return result


@dataclass
class RunWork:
    """What a business date asks of the run, found set-based before any lock."""

    customer_ids: list[int]
    skipped: Counter
    due_levels: list[str]
    # Per customer, the items due at some level (none for a case to open or close only).
    items: Counter = field(default_factory=Counter)

    def slices(self, *, customers: int, items: int) -> list[list[int]]:
        """The customers in key order, cut into chunks of at most `customers` customers and,
        past a chunk's first customer, at most `items` items."""
        chunks: list[list[int]] = []
        current: list[int] = []
        weight = 0
        for customer_id in self.customer_ids:
            due = self.items[customer_id]
            if current and (len(current) >= customers or weight + due > items):
                chunks.append(current)
                current, weight = [], 0
            current.append(customer_id)
            weight += due
        if current:
            chunks.append(current)
        return chunks


def run_work(*, as_of: date, policy: DunningPolicy) -> RunWork:
    """The customers the run has something to do for on the date, and the items it keeps back.

    A customer is visited for an item due a level today that no pause rule or the
    tolerance keeps back, or for a case to open or to close; the kept-back items are
    counted here, once for the whole book. The chunks check everything again under
    their locks; this spares them the customers with nothing to do, most of them on
    most days, so a same-day rerun or an ordinary day costs what its work costs.
    """
    skipped: Counter = Counter()
    items: Counter = Counter()
    due_levels = []
    for kind, level, candidates in _due_candidates(as_of=as_of, policy=policy, customer_ids=None):
        due_levels.append(f"{kind}:{level.code}")
        due, counts = _due_and_skipped(kind, candidates, policy=policy)
        items.update(due)
        skipped.update(counts)
    customer_ids = set(items)
    overdue = customer_ids_overdue(as_of=as_of, tolerance=policy.tolerance, customer_ids=None)
    open_cases = dict(
        CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).values_list(
            "customer_id", "opened_on"
        )
    )
    to_open, to_close = _case_changes(as_of=as_of, overdue=overdue, opened_on=open_cases)
    customer_ids |= {*to_open, *to_close}
    return RunWork(
        customer_ids=sorted(customer_ids), skipped=skipped, due_levels=due_levels, items=items
    )


@transaction.atomic
def _run_plan(
    *, as_of: date, policy: DunningPolicy, chunk_size: int, chunk_items: int
) -> tuple[DunningRun, list[int]]:
    """Get or create the date's run row and add one chunk per slice of customers."""
    run, created = DunningRun.objects.get_or_create(
        business_date=as_of, defaults={"policy": policy}
    )
    # Two planners of the same date queue here, so chunk indexes never clash.
    run = DunningRun.objects.select_for_update().get(pk=run.pk)
    if not created:
        run.repeat_count += 1
        run.status = DunningRun.Status.RUNNING
        run.finished_at = None
    work = run_work(as_of=as_of, policy=policy)
    slices = work.slices(customers=chunk_size, items=chunk_items)
    now = timezone.now()
    chunks = DunningRunChunk.objects.bulk_create(
        DunningRunChunk(run=run, index=run.chunk_count + position, customer_ids=ids, claimed_at=now)
        for position, ids in enumerate(slices)
    )
    run.chunk_count += len(chunks)
    run.policy = policy
    run.skipped = dict(work.skipped)
    run.due_levels = work.due_levels
    run.save(
        update_fields=[
            *("repeat_count", "status", "finished_at", "chunk_count", "policy"),
            *("skipped", "due_levels"),
        ]
    )
    if connection.features.can_return_rows_from_bulk_insert:
        return run, [chunk.pk for chunk in chunks]
    indexes = [chunk.index for chunk in chunks]
    return run, list(
        DunningRunChunk.objects.filter(run=run, index__in=indexes)
        .order_by("index")
        .values_list("pk", flat=True)
    )


def dunning_run_finish(*, run_id: int) -> bool:
    """Mark the run completed once none of its chunks is still pending; say whether it is."""
    with transaction.atomic():
        run = DunningRun.objects.select_for_update().get(pk=run_id)
        if run.chunks.filter(status=DunningRunChunk.Status.PENDING).exists():
            return False
        if run.status != DunningRun.Status.COMPLETED:
            run.status = DunningRun.Status.COMPLETED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
        return True


def dunning_chunks_recover(*, lease: timedelta) -> list[int]:
    """Renew the lease of pending chunks nobody works on (lease expired, row unlocked).

    Returns their ids for the caller to dispatch once this commits. A worker
    inside a chunk holds its row lock, so SKIP LOCKED leaves live work alone;
    two beats renewing at once take disjoint rows.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            DunningRunChunk.objects.select_for_update(skip_locked=True)
            .filter(status=DunningRunChunk.Status.PENDING)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - lease))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        DunningRunChunk.objects.filter(pk__in=ids).update(claimed_at=now)
    return ids


def dunning_runs_finish() -> list[int]:
    """Complete every running run none of whose chunks is still pending; return their ids."""
    finished = []
    running = DunningRun.objects.filter(status=DunningRun.Status.RUNNING).exclude(
        Exists(
            DunningRunChunk.objects.filter(
                run=OuterRef("pk"), status=DunningRunChunk.Status.PENDING
            )
        )
    )
    for run_id in running.values_list("pk", flat=True):
        if dunning_run_finish(run_id=run_id):
            finished.append(run_id)
    return finished


def dunning_chunk_process(*, chunk_id: int) -> ChunkResult:
    """Process one chunk in one transaction; a chunk already done does nothing."""
    # Renew the lease, committed before the work so recovery sees a live claim.
    DunningRunChunk.objects.filter(pk=chunk_id, status=DunningRunChunk.Status.PENDING).update(
        claimed_at=timezone.now()
    )
    try:
        with transaction.atomic():
            return _chunk_process(chunk_id=chunk_id)
    except Exception as error:
        with transaction.atomic():
            DunningRunChunk.objects.filter(pk=chunk_id).exclude(
                status=DunningRunChunk.Status.DONE
            ).update(
                status=DunningRunChunk.Status.FAILED,
                attempts=F("attempts") + 1,
                error=f"{type(error).__name__}: {error}"[:2000],
            )
        raise


def _chunk_process(*, chunk_id: int) -> ChunkResult:
    _foreign_key_plans_forget()
    chunk = DunningRunChunk.objects.select_for_update().select_related("run").get(pk=chunk_id)
    if chunk.status == DunningRunChunk.Status.DONE:
        return ChunkResult(already_done=True)
    run = chunk.run
    as_of = run.business_date
    policy = run.policy or dunning_policy_active()
    # Their sales reps are wanted by id only (a case's owner, a call task's assignee).
    customers = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__any_of=chunk.customer_ids)
        .order_by("pk")
    }
    customer_ids = sorted(customers)
    result = ChunkResult()
    case_ids = _cases_sync(as_of=as_of, policy=policy, customers=customers)
    batch = uuid.uuid4()
    # Only the levels the plan found something due at: dates and the ladder do not
    # change for the date, and a message carried out since waits for tomorrow's run.
    for kind, level, candidates in _due_candidates(
        as_of=as_of, policy=policy, customer_ids=customer_ids, only=run.due_levels
    ):
        result.steps_created += _steps_insert(
            kind=kind,
            queryset=dunnable(candidates, policy=policy),
            level=level,
            as_of=as_of,
            run_id=run.pk,
            batch=batch,
        )
    if result.steps_created:
        invoices_rung_refresh(steps=DunningStep.objects.filter(batch=batch))
    levels = _levels(policy)
    result.communications = _communications_create(
        batch=batch,
        run_id=run.pk,
        as_of=as_of,
        policy=policy,
        levels={level.code: level for level in levels},
        customers=customers,
        case_ids=case_ids,
    )
    domain_events_announce(
        events=_domain_events(
            batch=batch,
            as_of=as_of,
            levels=levels,
            customers=customers,
            communications=result.communications,
        )
    )
    chunk.status = DunningRunChunk.Status.DONE
    chunk.attempts += 1
    chunk.steps_created = result.steps_created
    chunk.communications_created = len(result.communications)
    chunk.error = ""
    chunk.finished_at = timezone.now()
    chunk.save()
    return result


def _foreign_key_plans_forget() -> None:
    """Let PostgreSQL plan this chunk's foreign-key checks afresh (`DISCARD PLANS`).

    The foreign keys are checked at `COMMIT`, each by a query the server prepares once per
    connection. Prepared while the run's tables were small (the first chunks of a new book),
    it scans the table instead of its key, and keeps scanning it as the run fills it: on the
    1M book the later chunks took 5 to 10 s instead of one. Autovacuum's `ANALYZE` would
    invalidate the plan, but only once it runs; a chunk starts afresh instead.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DISCARD PLANS")


ESCALATION_LEVELS = (LevelCode.EXECUTIVE, LevelCode.LEGAL)


def _domain_events(
    *,
    batch: uuid.UUID,
    as_of: date,
    levels: list[DunningLevel],
    customers: dict[int, Customer],
    communications: list[CreatedCommunication],
) -> list[DomainEvent]:
    """`invoice.overdue` for invoices that reached the first overdue rung in this chunk (one
    read), and `dunning.case.escalated` for each message at the executive or legal rung."""
    events: list[DomainEvent] = []
    first_rung = next((level.code for level in levels if level.is_rung), None)
    # The first run makes tens of thousands: described only when someone keeps them.
    if first_rung is not None and EventType.INVOICE_OVERDUE in domain_event_types_wanted():
        events.extend(
            DomainEvent(
                type=EventType.INVOICE_OVERDUE,
                params={
                    "invoice_id": invoice_id,
                    "number": number,
                    "customer_code": customers[customer_id].code,
                    "due_date": due_date.isoformat(),
                    "outstanding": str(outstanding),
                    "currency": currency,
                    "as_of": as_of.isoformat(),
                },
                customer_id=customer_id,
            )
            for invoice_id, number, customer_id, due_date, outstanding, currency in (
                DunningStep.objects.filter(batch=batch, level=first_rung, invoice__isnull=False)
                .order_by("invoice__number")
                .values_list(
                    "invoice_id",
                    "invoice__number",
                    "customer_id",
                    "due_date",
                    "outstanding",
                    "currency",
                )
            )
        )
    by_code = {customer.code: customer for customer in customers.values()}
    events.extend(
        DomainEvent(
            type=EventType.DUNNING_CASE_ESCALATED,
            params={
                "communication_id": created.communication_id,
                "customer_code": created.customer_code,
                "level": created.level,
                "currency": created.currency,
                "items": created.invoices,
                "as_of": as_of.isoformat(),
            },
            customer_id=by_code[created.customer_code].pk,
        )
        for created in communications
        if created.level in ESCALATION_LEVELS
    )
    return events


def _levels(policy: DunningPolicy) -> list[DunningLevel]:
    return sorted(policy.levels.all(), key=lambda level: level.sequence)


def _due_conditions(*, as_of: date, policy: DunningPolicy) -> list:
    """Per level in ladder order and kind of item, `(kind, level, conditions)`: when an item
    is due that level today by its dates and the ladder (before pause rules and the
    tolerance). Levels without a window today (no due date near the pre-due reminder) are
    left out."""
    plan = []
    previous_rung: DunningLevel | None = None
    for level in _levels(policy):
        if level.code == LevelCode.PRE_DUE:
            last_due = pre_due_last_due(as_of=as_of, policy=policy)
            dates = pre_due_q(as_of=as_of, last_due=last_due) if last_due > as_of else None
        else:
            # Days past due >= offset, as a date range (no date arithmetic in SQL).
            dates = Q(due_date__lte=as_of - timedelta(days=level.days_offset))
        if dates is None:  # no pre-due window today (pre-due is not a rung)
            continue
        for kind in ("invoice", "instalment"):
            conditions = [
                dates,
                ~Exists(DunningStep.objects.filter(**{kind: OuterRef("pk")}, level=level.code)),
            ]
            if level.is_rung and previous_rung is not None:
                conditions.append(
                    Exists(
                        DunningStep.objects.filter(
                            REACHED,
                            **{kind: OuterRef("pk")},
                            level=previous_rung.code,
                            fired_on__lte=as_of - timedelta(days=policy.min_gap_days),
                        )
                    )
                )
            plan.append((kind, level, conditions))
        if level.is_rung:
            previous_rung = level
    return plan


def _items_base(*, kind: str, as_of: date, customer_ids: list[int] | None) -> QuerySet:
    """The items of these customers (all when None) the run may chase on the date."""
    if kind == "invoice":
        # Only what may be open on the date: for today's run the open-invoice index, so the
        # cost follows the open book, not every invoice the customers were ever sent.
        invoices = Invoice.objects.all()
        if customer_ids is not None:
            invoices = invoices.filter(customer_id__any_of=customer_ids)
        return invoices_maybe_open_as_of(as_of=as_of, queryset=invoices)
    instalments = AgreementInstalment.objects.filter(
        agreement__status=SupplementaryAgreement.Status.APPROVED
    )
    if customer_ids is not None:
        instalments = instalments.filter(agreement__customer_id__any_of=customer_ids)
    return instalments


def _due_candidates(
    *,
    as_of: date,
    policy: DunningPolicy,
    customer_ids: list[int] | None,
    only: list[str] | None = None,
) -> list[tuple[str, DunningLevel, QuerySet]]:
    """Per level and kind with an item due today by its dates and the ladder, the items
    not yet at it with `open_amount` and the pause annotations, before pause rules.

    Which levels have such items is asked first, in one query (an EXISTS each): on most
    days most levels have nothing to do. With `only` ("kind:level", what the plan found
    due in the whole book) those levels are taken without asking.
    A step written today never opens the next rung today (the policy's gap is at least a
    day), so asking before writing any is exact.
    """

    def _candidates(kind: str, conditions: list) -> QuerySet:
        items = _items(kind=kind, as_of=as_of, policy=policy, customer_ids=customer_ids)
        return items.filter(*conditions, open_q(amount="open_amount"))

    plan = _due_conditions(as_of=as_of, policy=policy)
    if only is not None:
        # Already asked for the whole book: a level with nothing here inserts nothing.
        plan = [entry for entry in plan if f"{entry[0]}:{entry[1].code}" in only]
        return [(kind, level, _candidates(kind, conditions)) for kind, level, conditions in plan]
    if not plan:
        return []
    flags = {
        f"due_{index}": Exists(
            _items_base(kind=kind, as_of=as_of, customer_ids=customer_ids).filter(*conditions)
        )
        for index, (kind, _level, conditions) in enumerate(plan)
    }
    (row,) = DunningPolicy.objects.filter(pk=policy.pk).annotate(**flags).values_list(*flags)
    return [
        (kind, level, _candidates(kind, conditions))
        for (kind, level, conditions), due in zip(plan, row, strict=True)
        if due
    ]


def _items(
    *, kind: str, as_of: date, policy: DunningPolicy, customer_ids: list[int] | None
) -> QuerySet:
    """The items of these customers with `open_amount` and the pause annotations."""
    if kind == "invoice":
        base = _items_base(kind=kind, as_of=as_of, customer_ids=customer_ids)
        return invoice_items(as_of=as_of, policy=policy, queryset=base)
    return instalment_items(as_of=as_of, policy=policy, customer_ids=customer_ids)


def _due_and_skipped(
    kind: str, candidates: QuerySet, *, policy: DunningPolicy
) -> tuple[Counter, Counter]:
    """In one read of a level's candidates: per customer with an item to dun, how many; and
    the items a pause rule or the tolerance keeps back, counted once each under their first
    reason."""
    column = "customer_id" if kind == "invoice" else "customer_id_value"
    conditions = {
        **skip_conditions(policy=policy),
        "due": dunnable_q(policy=policy, model=candidates.model),
    }
    rows = (
        candidates.order_by()
        .values(column)
        .annotate(
            **{name: CountAgg("pk", filter=condition) for name, condition in conditions.items()}
        )
        .values_list(column, *conditions)
    )
    due: Counter = Counter()
    skipped: Counter = Counter()
    for customer_id, *counts in rows:
        by_name = dict(zip(conditions, counts, strict=True))
        if dunnable_items := by_name.pop("due"):
            due[customer_id] = dunnable_items
        skipped.update({reason: count for reason, count in by_name.items() if count})
    return due, skipped


STEP_COLUMNS = (
    "customer_id",
    "invoice_id",
    "instalment_id",
    "level",
    "fired_on",
    "due_date",
    "currency",
    "outstanding",
    "run_id",
    "batch",
    "excluded_reason",
    "created_at",
)


def _steps_insert(
    *,
    kind: str,
    queryset: QuerySet,
    level: DunningLevel,
    as_of: date,
    run_id: int,
    batch: uuid.UUID,
) -> int:
    """INSERT … SELECT the due items as steps; rows that already exist are skipped."""
    null_id = Value(None, output_field=IntegerField())
    columns = {
        "customer_id": F("customer_id") if kind == "invoice" else F("customer_id_value"),
        "invoice_id": F("pk") if kind == "invoice" else null_id,
        "instalment_id": F("pk") if kind == "instalment" else null_id,
        "level": Value(level.code, output_field=CharField()),
        "fired_on": Value(as_of, output_field=DateField()),
        "due_date": F("due_date"),
        "currency": F("currency") if kind == "invoice" else F("currency_value"),
        "outstanding": F("open_amount"),
        "run_id": Value(run_id, output_field=IntegerField()),
        "batch": Value(batch, output_field=UUIDField()),
        "excluded_reason": Value("", output_field=CharField()),
        "created_at": Value(timezone.now(), output_field=DateTimeField()),
    }
    aliases = {f"step_{name}": expression for name, expression in columns.items()}
    select = queryset.annotate(**aliases).values_list(*aliases).order_by()
    select_sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(DunningStep._meta.db_table)
    column_sql = ", ".join(quote(name) for name in STEP_COLUMNS)
    with connection.cursor() as cursor:
        # The SELECT always has a WHERE clause, which SQLite needs to parse
        # ON CONFLICT after INSERT … SELECT.
        cursor.execute(
            f"INSERT INTO {table} ({column_sql}) {select_sql} ON CONFLICT DO NOTHING",
            params,
        )
        return max(cursor.rowcount, 0)


def _case_changes(
    *, as_of: date, overdue: set[int], opened_on: dict[int, date]
) -> tuple[list[int], list[int]]:
    """The customers whose case opens (overdue, none open) and whose open case closes (nothing
    overdue), from who is overdue and when each open case opened. A run for an earlier date
    does not close a case opened later."""
    to_open = sorted(overdue - set(opened_on))
    to_close = sorted(
        customer_id
        for customer_id, opened in opened_on.items()
        if customer_id not in overdue and opened <= as_of
    )
    return to_open, to_close


def _cases_sync(
    *, as_of: date, policy: DunningPolicy, customers: dict[int, Customer]
) -> dict[int, int]:
    """Open a case for each customer with overdue items; close the ones with nothing overdue.
    Returns the id of each customer's open case.

    Set-based: one read of who is overdue, one of the open cases, one insert
    of the new cases, one update of the closed ones and one insert of their
    timeline rows, whatever the number of customers.
    """
    overdue = customer_ids_overdue(as_of=as_of, tolerance=policy.tolerance, customer_ids=customers)
    open_cases = {
        customer_id: (case_id, opened_on)
        for customer_id, case_id, opened_on in CollectionCase.objects.filter(
            customer_id__any_of=list(customers), status=CollectionCase.Status.OPEN
        ).values_list("customer_id", "pk", "opened_on")
    }
    to_open, to_close = _case_changes(
        as_of=as_of,
        overdue=overdue,
        opened_on={customer_id: opened_on for customer_id, (_, opened_on) in open_cases.items()},
    )
    opened = dict(
        zip(
            to_open,
            rows_insert(
                CollectionCase,
                ("customer_id", "owner_id", "opened_on"),
                [(id_, customers[id_].sales_rep_id, as_of) for id_ in to_open],
            ),
            strict=True,
        )
    )
    dated = {"as_of": as_of.isoformat()}
    events = [
        (customer_id, case_id, CaseEvent.Kind.CASE_OPENED, dated)
        for customer_id, case_id in opened.items()
    ]
    closed = {customer_id: open_cases.pop(customer_id)[0] for customer_id in to_close}
    CollectionCase.objects.filter(pk__in=list(closed.values())).update(
        status=CollectionCase.Status.CLOSED, closed_on=as_of, updated_at=timezone.now()
    )
    events.extend(
        (customer_id, case_id, CaseEvent.Kind.CASE_CLOSED, dated)
        for customer_id, case_id in closed.items()
    )
    rows_insert(CaseEvent, ("customer_id", "case_id", "kind", "data"), events)
    case_ids = {customer_id: case_id for customer_id, (case_id, _) in open_cases.items()}
    case_ids.update(opened)
    return case_ids


def _communications_create(
    *,
    batch: uuid.UUID,
    run_id: int,
    as_of: date,
    policy: DunningPolicy,
    levels: dict[str, DunningLevel],
    customers: dict[int, Customer],
    case_ids: dict[int, int],
) -> list[CreatedCommunication]:
    """One message per customer, level and currency, from the steps this chunk inserted.

    The steps are read once as rows with their items' numbers (and the agreements'
    first invoices for the `INV#n` labels, one more read), and the messages written by
    `communications_build_many` with a fixed number of statements.
    """
    rows = list(
        DunningStep.objects.filter(batch=batch)
        # Items due the same day in number order: the set-based insert gives steps no order.
        .order_by(
            "customer_id",
            "level",
            "currency",
            "due_date",
            "invoice__number",
            "instalment__sequence",
            "pk",
        )
        .values_list(
            *("pk", "customer_id", "level", "currency", "outstanding", "invoice__number"),
            *("instalment__sequence", "instalment__agreement_id", "instalment__agreement__number"),
        )
    )
    first_invoice = agreements_first_invoice({row[7] for row in rows if row[7] is not None})
    steps = [
        BatchStep(
            pk=pk,
            customer_id=customer_id,
            level=level,
            currency=currency,
            outstanding=outstanding,
            batch=batch,
            item_label=invoice_number
            if invoice_number is not None
            else instalment_label_of(
                first_invoice=first_invoice.get(agreement_id),
                agreement=agreement_number,
                sequence=sequence,
            ),
        )
        for (
            pk,
            customer_id,
            level,
            currency,
            outstanding,
            invoice_number,
            sequence,
            agreement_id,
            agreement_number,
        ) in rows
    ]
    grouped: dict[tuple[int, str, str], list[BatchStep]] = {}
    for step in steps:
        grouped.setdefault((step.customer_id, step.level, step.currency), []).append(step)
    keys = sorted(grouped, key=lambda key: (key[0], LEVEL_ORDER[key[1]], key[2]))
    groups = [
        (customers[customer_id], levels[code], currency, grouped[(customer_id, code, currency)])
        for customer_id, code, currency in keys
    ]
    communications = communications_build_many(
        run_id=run_id, as_of=as_of, policy=policy, groups=groups, case_ids=case_ids
    )
    return [
        CreatedCommunication(
            communication_id=communication.pk,
            customer_code=customer.code,
            level=level.code,
            currency=currency,
            channels=list(communication.channels),
            invoices=[step.item_label for step in group],
            status=communication.status,
        )
        for communication, (customer, level, currency, group) in zip(
            communications, groups, strict=True
        )
    ]
