"""Bank receipts: import a statement, apply receipts as payments, and finance's decisions.

Every decision is one transaction that first locks the receipt
(`SELECT ... FOR UPDATE`) and re-checks its status, so two people acting on the
same receipt at once act once. The lock order is receipt, then the receivables
order (customer, payment, invoices in pk order) inside `payments_record_many`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banking.models import (
    BankAccount,
    BankReceipt,
    BankStatementImport,
    ReceiptApplication,
)
from banking.normalise import account_normalise, text_normalise
from banking.parsers import AUTO, LineError, StatementRow, statement_parse
from banking.selectors.open_items import CHUNK, open_items_for_customers
from banking.services.accounts import payer_record
from banking.services.matching import Decision, MatchContext
from core.exceptions import BusinessRuleError
from core.money import money_quantize, money_str
from dunning.models import CaseEvent
from dunning.policy import policy_tolerance
from dunning.services.events import case_events_create_many
from receivables.models import Customer, Invoice, Payment
from receivables.services.balance_changes import balance_changes_batched
from receivables.services.payments import (
    PaymentRequest,
    PaymentsRefused,
    payment_record_request,
    payments_record_many,
)

Status = BankReceipt.Status
DECIDABLE = (Status.UNMATCHED, Status.SUGGESTED, Status.CLAIMED)


@dataclass
class ImportResult:
    file_format: str = ""
    errors: list[LineError] = field(default_factory=list)
    receipts: int = 0
    new: int = 0
    duplicates: int = 0
    applied: list[dict] = field(default_factory=list)
    suggested: list[dict] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    dry_run: bool = False
    statement_import_id: int | None = None
    preview: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        """The shape DESIGN.md gives `import_bank_statement --format json`."""
        return {
            "receipts": self.receipts,
            "new": self.new,
            "duplicates": self.duplicates,
            "applied": self.applied,
            "suggested": self.suggested,
            "unmatched": self.unmatched,
        }


def _receipt_from_row(*, row: StatementRow, account: BankAccount) -> BankReceipt:
    return BankReceipt(
        bank_account=account,
        transaction_id=row.transaction_id,
        date=row.date,
        amount=row.amount,
        currency=row.currency,
        payer_name=row.payer_name,
        payer_name_key=text_normalise(row.payer_name)[:200],
        payer_account=row.payer_account,
        payer_account_key=account_normalise(row.payer_account)[:64],
        memo=row.memo,
        status=Status.UNMATCHED,
    )


def _event_row(
    *, customer_id: int, kind: str, receipt: BankReceipt, actor: AbstractBaseUser | None, **data
) -> CaseEvent:
    return CaseEvent(
        customer_id=customer_id,
        kind=kind,
        actor=actor,
        data={
            "receipt_id": receipt.pk,
            "transaction_id": receipt.transaction_id,
            "date": receipt.date.isoformat(),
            "amount": money_str(receipt.amount),
            "currency": receipt.currency,
            **data,
        },
    )


def _event(
    *, customer_id: int, kind: str, receipt: BankReceipt, actor: AbstractBaseUser | None, **data
) -> None:
    case_events_create_many(
        events=[
            _event_row(customer_id=customer_id, kind=kind, receipt=receipt, actor=actor, **data)
        ]
    )


def _request(
    *, receipt: BankReceipt, customer_id: int, amount: Decimal, allocations
) -> PaymentRequest:
    return PaymentRequest(
        customer_id=customer_id,
        payment_date=receipt.date,
        amount=amount,
        currency=receipt.currency,
        reference=receipt.transaction_id,
        allocations=[(Invoice(pk=invoice_id), value) for invoice_id, value in allocations],
    )


def _pay(
    *,
    receipt: BankReceipt,
    customer_id: int,
    amount: Decimal,
    allocations: Sequence[tuple[int, Decimal]],
    actor: AbstractBaseUser | None,
) -> ReceiptApplication:
    """Record the payment through the receivables service, so the work follows the money."""
    payment = _record_one(
        receipt=receipt,
        customer_id=customer_id,
        amount=amount,
        allocations=allocations,
        actor=actor,
    )
    return ReceiptApplication.objects.create(
        receipt=receipt, customer_id=customer_id, payment=payment, amount=amount, applied_by=actor
    )


def _record_one(
    *,
    receipt: BankReceipt,
    customer_id: int,
    amount: Decimal,
    allocations: Sequence[tuple[int, Decimal]],
    actor: AbstractBaseUser | None,
) -> Payment:
    """One receipt's payment (a refusal is its own `BusinessRuleError`)."""
    return payment_record_request(
        request=_request(
            receipt=receipt, customer_id=customer_id, amount=amount, allocations=allocations
        ),
        actor=actor,
    )


@dataclass
class _Decided:
    receipt: BankReceipt
    decision: Decision
    allocations: list[tuple[int, Decimal]] | None = None
    payment_id: int | None = None


def _decide_chunk(
    *, receipts: list[BankReceipt], context: MatchContext, actor: AbstractBaseUser | None
) -> list[_Decided]:
    """Decide a chunk of receipts in file order and record its automatic applications in
    one batch (`payments_record_many`). If the receivables service refuses any of them,
    nothing of the batch is written: the chunk is decided again one receipt at a time, a
    refused receipt being suggested, exactly as if each had been recorded on its own."""
    context.checkpoint()
    decided = []
    for receipt in receipts:
        decision = context.decide(receipt)
        entry = _Decided(receipt, decision)
        if decision.status == Status.APPLIED:
            entry.allocations = context.consume(
                decision.customer_id, decision.items, receipt.amount
            )
        decided.append(entry)
    applied = [entry for entry in decided if entry.allocations is not None]
    if not applied:
        return decided
    try:
        with transaction.atomic():
            payments = payments_record_many(
                requests=[
                    _request(
                        receipt=entry.receipt,
                        customer_id=entry.decision.customer_id,
                        amount=entry.receipt.amount,
                        allocations=entry.allocations,
                    )
                    for entry in applied
                ],
                actor=actor,
            )
    except PaymentsRefused:
        context.rollback()
        return [_decide_one(receipt=receipt, context=context, actor=actor) for receipt in receipts]
    for entry, payment in zip(applied, payments, strict=True):
        entry.payment_id = payment.pk
    return decided


def _decide_one(
    *, receipt: BankReceipt, context: MatchContext, actor: AbstractBaseUser | None
) -> _Decided:
    """Decide one receipt and record its automatic application on its own, in a savepoint;
    a refused payment leaves the receipt suggested and the open items as they were."""
    decision = context.decide(receipt)
    if decision.status != Status.APPLIED:
        return _Decided(receipt, decision)
    context.checkpoint()
    allocations = context.consume(decision.customer_id, decision.items, receipt.amount)
    try:
        with transaction.atomic():
            payment = _record_one(
                receipt=receipt,
                customer_id=decision.customer_id,
                amount=receipt.amount,
                allocations=allocations,
                actor=actor,
            )
    except BusinessRuleError:
        context.rollback()
        known = (decision.customer_id, "")
        suggested = Decision(
            Status.SUGGESTED, decision.customer_id, candidates=context.suggest(receipt, known=known)
        )
        return _Decided(receipt, suggested)
    return _Decided(receipt, decision, allocations, payment.pk)


def _suggestions_json(decision: Decision) -> list[dict]:
    return [candidate.as_json() for candidate in decision.candidates]


def _match_and_apply(
    *, receipts: list[BankReceipt], actor: AbstractBaseUser | None, result: ImportResult
) -> None:
    """Match the new (unsaved) receipts and apply what the rules place, a chunk at a time:
    a constant number of statements per chunk (the payments, the receipts written as
    decided, their applications, the timeline)."""
    context = MatchContext.load(receipts=receipts, tolerance=policy_tolerance())
    now = timezone.now()
    for start in range(0, len(receipts), CHUNK):
        chunk = receipts[start : start + CHUNK]
        applied: list[tuple[BankReceipt, Decision, list[str]]] = []
        for entry in _decide_chunk(receipts=chunk, context=context, actor=actor):
            receipt, decision = entry.receipt, entry.decision
            receipt.status = decision.status
            receipt.customer_id = decision.customer_id
            receipt.suggestions = _suggestions_json(decision)
            code = context.codes.get(decision.customer_id, "")
            if decision.status == Status.APPLIED:
                receipt.payment_id = entry.payment_id
                receipt.applied_automatically = True
                receipt.applied_rule = decision.rule
                receipt.decided_at = now
                labels = [item.label for item in decision.items]
                result.applied.append(
                    {
                        "transaction_id": receipt.transaction_id,
                        "customer_code": code,
                        "invoices": labels,
                        "amount": money_str(receipt.amount),
                    }
                )
                applied.append((receipt, decision, labels))
            elif decision.status == Status.SUGGESTED:
                top = decision.candidates[0] if decision.candidates else None
                result.suggested.append(
                    {
                        "transaction_id": receipt.transaction_id,
                        "customer_code": code,
                        "invoices": [item.label for item in top.items] if top else [],
                    }
                )
            else:
                result.unmatched.append(receipt.transaction_id)
        BankReceipt.objects.bulk_create(chunk, batch_size=CHUNK)
        ReceiptApplication.objects.bulk_create(
            [
                ReceiptApplication(
                    receipt=receipt,
                    customer_id=decision.customer_id,
                    payment_id=receipt.payment_id,
                    amount=receipt.amount,
                    applied_by=actor,
                )
                for receipt, decision, _labels in applied
            ],
            batch_size=CHUNK,
        )
        case_events_create_many(
            events=[
                _event_row(
                    customer_id=decision.customer_id,
                    kind=CaseEvent.Kind.RECEIPT_APPLIED,
                    receipt=receipt,
                    actor=actor,
                    items=labels,
                    rule=decision.rule,
                    automatic=True,
                )
                for receipt, decision, labels in applied
            ]
        )


def bank_statement_import(
    *,
    account: BankAccount,
    data: bytes,
    file_name: str = "",
    profile: str = AUTO,
    dry_run: bool = False,
    actor: AbstractBaseUser | None = None,
) -> ImportResult:
    """Load a statement all or nothing, idempotent per (account, transaction id); apply what
    the rules place with certainty. A dry run does it all and rolls back."""
    parsed = statement_parse(data=data, account=account, profile=profile)
    result = ImportResult(file_format=parsed.file_format, dry_run=dry_run)
    if parsed.errors:
        result.errors = parsed.errors
        return result
    result.receipts = len(parsed.rows)
    with transaction.atomic():
        # Serialise imports into one account: the second waits, then sees the first's rows.
        BankAccount.objects.select_for_update().filter(pk=account.pk).first()
        ids = [row.transaction_id for row in parsed.rows]
        existing: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            existing |= set(
                BankReceipt.objects.filter(
                    bank_account=account, transaction_id__in=ids[start : start + CHUNK]
                ).values_list("transaction_id", flat=True)
            )
        new_rows = [row for row in parsed.rows if row.transaction_id not in existing]
        result.new = len(new_rows)
        result.duplicates = len(parsed.rows) - len(new_rows)
        if new_rows:
            statement = BankStatementImport.objects.create(
                bank_account=account,
                imported_by=actor,
                file_name=file_name[:255],
                file_format=parsed.file_format,
                receipts=result.receipts,
                new=result.new,
                duplicates=result.duplicates,
            )
            result.statement_import_id = statement.pk
            receipts = [_receipt_from_row(row=row, account=account) for row in new_rows]
            for receipt in receipts:
                receipt.statement_import = statement
            # The receipts are written decided, a chunk at a time. The work derived from
            # the balances (tasks, cases, dunning) follows all the payments of the
            # statement at once, in this transaction.
            with balance_changes_batched():
                _match_and_apply(receipts=receipts, actor=actor, result=result)
            statement.applied = len(result.applied)
            statement.suggested = len(result.suggested)
            statement.unmatched = len(result.unmatched)
            statement.save(update_fields=["applied", "suggested", "unmatched"])
            result.preview = [
                {
                    "line": row.line,
                    "transaction_id": receipt.transaction_id,
                    "date": receipt.date,
                    "amount": receipt.amount,
                    "payer_name": receipt.payer_name,
                    "memo": receipt.memo,
                    "status": receipt.status,
                }
                for row, receipt in zip(new_rows, receipts, strict=True)
            ]
        if dry_run:
            transaction.set_rollback(True)
    return result


# --- Finance's decisions -------------------------------------------------------------


def receipt_lock(*, receipt_id: int) -> BankReceipt:
    """Lock the receipt row for a decision."""
    return BankReceipt.objects.select_for_update().get(pk=receipt_id)


def _decidable(receipt: BankReceipt) -> None:
    if receipt.status not in DECIDABLE:
        raise BusinessRuleError(
            _("Receipt %(id)s is already %(status)s.")
            % {"id": receipt.transaction_id, "status": receipt.get_status_display()}
        )


def _plan(
    *, customer: Customer, currency: str, amount: Decimal, invoice_ids: Sequence[int] | None
) -> tuple[list[tuple[int, Decimal]], list[str]]:
    """Allocations of an amount to the chosen open items of a customer (all of them, oldest
    first, when none are chosen): (invoice id, amount) and the labels of the items used."""
    from dunning.policy import policy_tolerance as tolerance_of

    items = open_items_for_customers(customer_ids=[customer.pk], tolerance=tolerance_of()).get(
        customer.pk, []
    )
    items = [item for item in items if item.currency == currency]
    if invoice_ids:
        chosen_ids = set(invoice_ids)
        items = [item for item in items if any(pk in chosen_ids for pk, _value in item.invoices)]
        if not items:
            raise BusinessRuleError(_("None of the chosen invoices is open for this customer."))
    remaining = amount
    allocations: dict[int, Decimal] = {}
    labels = []
    for item in items:
        if remaining <= 0:
            break
        take = min(remaining, item.open_amount)
        labels.append(item.label)
        for invoice_id, value in item.invoices:
            part = min(take, value - allocations.get(invoice_id, Decimal("0.00")))
            if part > 0:
                allocations[invoice_id] = allocations.get(invoice_id, Decimal("0.00")) + part
                take -= part
                remaining -= part
            if take <= 0:
                break
    return sorted(allocations.items()), labels


@transaction.atomic
def receipt_apply(
    *,
    receipt: BankReceipt,
    customer: Customer,
    actor: AbstractBaseUser,
    invoice_ids: Sequence[int] | None = None,
    remember_payer: bool = True,
) -> BankReceipt:
    """Apply a receipt to a customer (its suggested customer, or another: a re-assignment),
    to the chosen invoices or oldest first; the rest stays as credit. Record the payer."""
    receipt = receipt_lock(receipt_id=receipt.pk)
    _decidable(receipt)
    allocations, labels = _plan(
        customer=customer, currency=receipt.currency, amount=receipt.amount, invoice_ids=invoice_ids
    )
    application = _pay(
        receipt=receipt,
        customer_id=customer.pk,
        amount=receipt.amount,
        allocations=allocations,
        actor=actor,
    )
    reassigned = receipt.customer_id is not None and receipt.customer_id != customer.pk
    receipt.status = Status.APPLIED
    receipt.customer = customer
    receipt.payment_id = application.payment_id
    receipt.decided_by = actor
    receipt.decided_at = timezone.now()
    receipt.save(update_fields=["status", "customer", "payment", "decided_by", "decided_at"])
    recorded = {}
    if remember_payer:
        recorded = payer_record(
            customer=customer,
            payer_account=receipt.payer_account,
            payer_name=receipt.payer_name,
            actor=actor,
        )
    _event(
        customer_id=customer.pk,
        kind=CaseEvent.Kind.RECEIPT_APPLIED,
        receipt=receipt,
        actor=actor,
        items=labels,
        automatic=False,
        reassigned=reassigned,
        **recorded,
    )
    return receipt


@transaction.atomic
def receipt_split(
    *,
    receipt: BankReceipt,
    parts: Sequence[tuple[Customer, Decimal]],
    actor: AbstractBaseUser,
) -> BankReceipt:
    """Apply a receipt over several customers; the parts must add up to the receipt."""
    receipt = receipt_lock(receipt_id=receipt.pk)
    _decidable(receipt)
    parts = [(customer, money_quantize(amount)) for customer, amount in parts if amount]
    if len(parts) < 2:
        raise BusinessRuleError(_("A split needs at least two customers."))
    total = money_quantize(sum((amount for _customer, amount in parts), Decimal("0.00")))
    if total != receipt.amount:
        raise BusinessRuleError(
            _("The parts add up to %(total)s, not the receipt's %(amount)s.")
            % {"total": money_str(total), "amount": money_str(receipt.amount)}
        )
    # Customers in pk order: the receivables lock order.
    for customer, amount in sorted(parts, key=lambda part: part[0].pk):
        if amount <= 0:
            raise BusinessRuleError(_("Every part must be positive."))
        allocations, labels = _plan(
            customer=customer, currency=receipt.currency, amount=amount, invoice_ids=None
        )
        _pay(
            receipt=receipt,
            customer_id=customer.pk,
            amount=amount,
            allocations=allocations,
            actor=actor,
        )
        _event(
            customer_id=customer.pk,
            kind=CaseEvent.Kind.RECEIPT_APPLIED,
            receipt=receipt,
            actor=actor,
            items=labels,
            automatic=False,
            split_amount=money_str(amount),
        )
    receipt.status = Status.APPLIED
    receipt.decided_by = actor
    receipt.decided_at = timezone.now()
    receipt.save(update_fields=["status", "decided_by", "decided_at"])
    return receipt


@transaction.atomic
def receipt_dismiss(*, receipt: BankReceipt, reason: str, actor: AbstractBaseUser) -> BankReceipt:
    """Mark a receipt as not a customer's (a refund, an internal transfer), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(_("Give a reason."), field="reason")
    receipt = receipt_lock(receipt_id=receipt.pk)
    _decidable(receipt)
    receipt.claims.filter(status="pending").update(
        status="rejected", decided_by=actor, decided_at=timezone.now(), reason=reason[:200]
    )
    receipt.status = Status.NOT_CUSTOMER
    receipt.dismiss_reason = reason[:200]
    receipt.decided_by = actor
    receipt.decided_at = timezone.now()
    receipt.save(update_fields=["status", "dismiss_reason", "decided_by", "decided_at"])
    if receipt.customer_id:
        _event(
            customer_id=receipt.customer_id,
            kind=CaseEvent.Kind.RECEIPT_DISMISSED,
            receipt=receipt,
            actor=actor,
            reason=receipt.dismiss_reason,
        )
    return receipt
