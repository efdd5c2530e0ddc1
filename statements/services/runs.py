"""Statement runs: each due statement sent to the finance contact exactly once per period.

The same way as the dunning run (README "The daily run, exactly once"):

1. `statement_run` writes the period's statement rows for the customers whose
   schedule is due, set-based, chunk by chunk: one read of the due schedules with
   their closing balance and finance contact computed in the database, and one
   `INSERT … ON CONFLICT DO NOTHING` against the unique (customer, period) key.
   A run for a period already created (or sent) creates nothing. Customers whose
   closing balance is zero are left out unless their schedule says otherwise.
2. `statements_claim` locks pending rows with `SELECT … FOR UPDATE SKIP LOCKED`
   and marks them `sending` with a lease; the email goes out after commit
   (`statement_deliver`), with a stable Message-ID and the PDF attached, and the
   row ends `sent` or `failed` with a reason. A transient mail-server error puts
   it back to `pending` with back-off, up to the attempts bound.
3. `statements_reap` returns rows whose lease expired in `sending` (a killed
   worker) to `pending`, or fails them `stuck`; failed and stuck rows show on the
   finance desk, where finance sends them again (`statement_retry`).
"""

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from dunning.calendar import nth_working_day_of_month
from dunning.models import CaseEvent
from dunning.services.events import case_event_create
from dunning.services.send import provider_message_id, retry_delay
from receivables.models import Contact
from receivables.selectors.balances import HALF_CENT, cents, ledger_balance_expression
from receivables.selectors.customers import email_bounced
from statements.documents import statement_pdf
from statements.models import MAX_WORKING_DAY, Statement, StatementSchedule
from statements.selectors import statement_of_account

logger = logging.getLogger(__name__)

DEFAULT_CHUNK = 2000
# Statements a sender claims at once: one claiming transaction for them all, each still
# sent and recorded on its own; well inside the lease even when each renders a PDF.
SEND_BATCH = 20
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_LEASE = timedelta(minutes=5)


def max_attempts() -> int:
    return getattr(settings, "STATEMENT_SEND_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def lease() -> timedelta:
    return getattr(settings, "STATEMENT_LEASE", None) or DEFAULT_LEASE


def statement_period(*, as_of: date) -> tuple[date, date]:
    """The period a run on the date reports: the calendar month before."""
    end = as_of.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def due_working_day(*, as_of: date) -> int:
    """The highest n whose n-th working day of the month is on or before the date (0: none).

    A schedule for working day n is due on the first run on or after that day,
    so a run missed on the day itself is caught up the next day.
    """
    due = 0
    for n in range(1, MAX_WORKING_DAY + 1):
        if nth_working_day_of_month(year=as_of.year, month=as_of.month, n=n) > as_of:
            break
        due = n
    return due


def _finance_emails() -> QuerySet[Contact]:
    """Finance contacts' addresses that never bounced (a bounced one waits for the rep's fix)."""
    return (
        Contact.objects.filter(role=Contact.Role.FINANCE, email_bounced_at__isnull=True)
        .exclude(email="")
        .order_by("pk")
    )


def _finance_email() -> Subquery:
    """The customer's first finance contact address that never bounced."""
    return Subquery(_finance_emails().filter(customer=OuterRef("customer_id")).values("email")[:1])


@dataclass
class RunSummary:
    as_of: date
    period_start: date | None = None
    period_end: date | None = None
    due: int = 0
    created: int = 0
    skipped_zero_balance: int = 0
    chunks: int = 0
    created_ids: list[int] = field(default_factory=list)


def statement_run(*, as_of: date, chunk_size: int = DEFAULT_CHUNK) -> RunSummary:
    """Create the period's statements of the customers whose schedule is due on the date,
    once per customer and period (a repeat, or a concurrent run, creates nothing)."""
    summary = RunSummary(as_of=as_of)
    working_day = due_working_day(as_of=as_of)
    if not working_day:
        return summary
    start, end = statement_period(as_of=as_of)
    summary.period_start, summary.period_end = start, end
    due = (
        StatementSchedule.objects.filter(
            frequency=StatementSchedule.Frequency.MONTHLY, working_day__lte=working_day
        )
        .exclude(customer__statements__period_start=start)
        .order_by("pk")
    )
    last_pk = 0
    while True:
        # One read: the due schedules of the chunk with their closing balance and recipient.
        rows = list(
            due.filter(pk__gt=last_pk)
            .annotate(ledger_currency=F("customer__currency"))
            .annotate(
                closing=ledger_balance_expression(as_of=end, ref="customer_id"),
                recipient=_finance_email(),
            )
            .values_list(
                "pk",
                "customer_id",
                "ledger_currency",
                "closing",
                "recipient",
                "send_at_zero_balance",
            )[:chunk_size]
        )
        if not rows:
            break
        summary.chunks += 1
        last_pk = rows[-1][0]
        new = []
        for _pk, customer_id, currency, closing, recipient, at_zero in rows:
            summary.due += 1
            closing = cents(closing)
            if abs(closing) < HALF_CENT and not at_zero:
                summary.skipped_zero_balance += 1
                continue
            new.append(
                Statement(
                    customer_id=customer_id,
                    period_start=start,
                    period_end=end,
                    business_date=as_of,
                    currency=currency,
                    closing=closing,
                    recipient_email=recipient or "",
                )
            )
        # One insert: the unique (customer, period) key keeps every statement once.
        Statement.objects.bulk_create(new, ignore_conflicts=True)
        mine = Statement.objects.filter(
            period_start=start,
            message_id__in=[statement.message_id for statement in new],
        ).values_list("pk", flat=True)
        created = list(mine)
        summary.created += len(created)
        summary.created_ids.extend(created)
        if len(rows) < chunk_size:
            break
    return summary


# --- Sending -----------------------------------------------------------------------


def statements_claim(*, limit: int = 1, ids: list[int] | None = None) -> list[int]:
    """Lock up to `limit` pending statements (skipping locked ones) and mark them sending."""
    now = timezone.now()
    with transaction.atomic():
        queryset = (
            Statement.objects.select_for_update(skip_locked=True)
            .filter(status=Statement.Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
        )
        if ids is not None:
            queryset = queryset.filter(pk__in=ids)
        claimed = list(queryset.values_list("pk", flat=True)[:limit])
        Statement.objects.filter(pk__in=claimed).update(
            status=Statement.Status.SENDING,
            attempts=F("attempts") + 1,
            sending_started_at=now,
            updated_at=now,
        )
    return claimed


_portal_link_maker: Callable[[Statement], str] | None = None


def statement_portal_link_register(*, maker: Callable[[Statement], str]) -> None:
    """Let the customer's page (the `portal` app, above this one) make the email's link."""
    global _portal_link_maker
    _portal_link_maker = maker


def statement_portal_link(statement: Statement) -> str:
    """A fresh link to the customer's own page asking to confirm the statement's closing
    balance, or "" without the portal. Made when the email is sent, never stored."""
    return _portal_link_maker(statement) if _portal_link_maker is not None else ""


def statement_email(
    *, statement: Statement, portal_link: str = "", attached: bool = True
) -> tuple[str, str]:
    """Subject and body in the customer's language; the body says whether the PDF is
    attached or waits behind the link."""
    with translation.override(statement.customer.language or settings.LANGUAGE_CODE):
        context = {
            "statement": statement,
            "portal_link": portal_link,
            "attached": attached,
            "customer": statement.customer,
            "creditor_name": settings.CREDITOR_NAME,
            "closing": f"{statement.closing:,.2f}",
        }
        subject = render_to_string("statements/email/statement_subject.txt", context)
        body = render_to_string("statements/email/statement_body.txt", context)
    return " ".join(subject.split()), body


def _render_pdf(statement: Statement) -> bytes:
    document = statement_of_account(
        customer=statement.customer,
        date_from=statement.period_start,
        date_to=statement.period_end,
        currency=statement.currency,
    )
    return statement_pdf(statement=document)


def _store_pdf(*, pk: int, pdf: bytes, sending: bool = True) -> Statement | None:
    """Keep the first rendering: a repeat sends (or serves) the same document. `sending`:
    only while the statement is being sent (None once another sender ended it)."""
    with transaction.atomic():
        statement = Statement.objects.select_for_update().select_related("customer").get(pk=pk)
        if sending and statement.status != Statement.Status.SENDING:
            return None
        if not statement.pdf:
            statement.pdf.save("statement.pdf", ContentFile(pdf), save=False)
            statement.save(update_fields=["pdf", "updated_at"])
        return statement


def statement_pdf_stored(*, statement: Statement) -> Statement:
    """The statement with its PDF: rendered the first time it is asked for, then kept.

    Without `STATEMENT_ATTACH_PDF` the run's email carries the customer's link instead
    of the PDF, so a month's run does not render every customer's PDF (about 0.2-0.4 s
    each on two cores): it is rendered when the contact (or we) first open it.
    """
    if statement.pdf:
        return statement
    stored = _store_pdf(pk=statement.pk, pdf=_render_pdf(statement), sending=False)
    assert stored is not None
    return stored


def attach_pdf() -> bool:
    return bool(getattr(settings, "STATEMENT_ATTACH_PDF", False))


def _finish(
    *,
    pk: int,
    sent: bool,
    reason: str = "",
    detail: str = "",
    retry: bool = False,
    provider_message_id: str = "",
) -> str:
    """Record how one attempt ended, under the row lock; return the status."""
    with transaction.atomic():
        statement = Statement.objects.select_for_update().select_related("customer").get(pk=pk)
        if statement.status != Statement.Status.SENDING:
            return statement.status
        now = timezone.now()
        if sent:
            statement.status = Statement.Status.SENT
            statement.sent_at = now
            statement.failure_reason = ""
            statement.failure_detail = ""
            statement.provider_message_id = provider_message_id[:200]
            statement.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "failure_reason",
                    "failure_detail",
                    "provider_message_id",
                    "updated_at",
                ]
            )
            case_event_create(
                customer=statement.customer,
                kind=CaseEvent.Kind.STATEMENT_SENT,
                data={
                    "statement": statement.pk,
                    "period_start": statement.period_start.isoformat(),
                    "period_end": statement.period_end.isoformat(),
                    "closing": f"{statement.closing:.2f}",
                    "currency": statement.currency,
                    "recipient": statement.recipient_email,
                },
            )
            return statement.status
        if retry and statement.attempts < max_attempts():
            statement.status = Statement.Status.PENDING
            statement.next_attempt_at = now + retry_delay(attempts=statement.attempts)
            statement.failure_detail = detail[:2000]
            statement.save(
                update_fields=["status", "next_attempt_at", "failure_detail", "updated_at"]
            )
            return statement.status
        statement_fail(statement=statement, reason=reason, detail=detail)
        return statement.status


def statement_fail(*, statement: Statement, reason: str, detail: str = "") -> None:
    """End a locked statement `failed` with its reason; it shows on the finance desk."""
    statement.status = Statement.Status.FAILED
    statement.failure_reason = reason
    statement.failure_detail = detail[:2000]
    statement.save(update_fields=["status", "failure_reason", "failure_detail", "updated_at"])
    case_event_create(
        customer=statement.customer,
        kind=CaseEvent.Kind.STATEMENT_FAILED,
        data={
            "statement": statement.pk,
            "period_start": statement.period_start.isoformat(),
            "reason": reason,
        },
    )


def _error_text(error: object) -> str:
    return f"{type(error).__name__}: {error}" if isinstance(error, Exception) else str(error)


def statement_deliver(*, statement_id: int, connection: BaseEmailBackend | None = None) -> str:
    """Send one claimed statement (outside any transaction) and record how it ended."""
    statement = Statement.objects.select_related("customer").get(pk=statement_id)
    if statement.status != Statement.Status.SENDING:
        return statement.status
    if not statement.recipient_email:
        return _finish(pk=statement_id, sent=False, reason=Statement.FailureReason.MISSING_ADDRESS)
    if email_bounced(customer_id=statement.customer_id, email=statement.recipient_email):
        # Never mail an address flagged bounced: the rep's task to fix it stays open, and
        # finance sends it again (to the fixed address) from the desk.
        return _finish(
            pk=statement_id,
            sent=False,
            reason=Statement.FailureReason.BOUNCE,
            detail=statement.recipient_email,
        )
    portal_link = statement_portal_link(statement)
    # The PDF is attached when asked for, or when no link can reach it (no portal).
    attached = attach_pdf() or not portal_link
    if attached and not statement.pdf:
        try:
            pdf = _render_pdf(statement)
        except Exception as error:  # one statement that cannot render must not stop the rest
            logger.warning("statement %s failed to render: %s", statement_id, error)
            return _finish(
                pk=statement_id,
                sent=False,
                reason=Statement.FailureReason.RENDER_ERROR,
                detail=_error_text(error),
            )
        stored = _store_pdf(pk=statement_id, pdf=pdf)
        if stored is None:
            return Statement.objects.get(pk=statement_id).status
        statement = stored
    attachments = []
    if attached:
        with statement.pdf.open("rb") as document:
            attachments.append(
                (
                    f"statement-{statement.customer.code}-{statement.period_start:%Y%m}.pdf",
                    document.read(),
                    "application/pdf",
                )
            )
    subject, body = statement_email(statement=statement, portal_link=portal_link, attached=attached)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[statement.recipient_email],
        headers={
            "Message-ID": statement.email_message_id,
            "X-Huikuan-Statement": str(statement.message_id),
        },
        attachments=attachments,
        connection=connection
        or get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 20),
    )
    # Providers behind anymail echo the metadata in their tracking events.
    message.metadata = {"huikuan_statement": str(statement.message_id)}
    try:
        delivered = message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        return _finish(
            pk=statement_id,
            sent=False,
            reason=Statement.FailureReason.BAD_ADDRESS,
            detail=_error_text(error),
        )
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            return _retry(statement_id, error)
        return _finish(
            pk=statement_id,
            sent=False,
            reason=Statement.FailureReason.BOUNCE,
            detail=_error_text(error),
        )
    except (smtplib.SMTPException, OSError) as error:
        return _retry(statement_id, error)
    except ValueError as error:  # a malformed address or header
        return _finish(
            pk=statement_id,
            sent=False,
            reason=Statement.FailureReason.BAD_ADDRESS,
            detail=_error_text(error),
        )
    except Exception as error:  # an email provider's API error (anymail): try again later
        return _retry(statement_id, error)
    if not delivered:
        return _finish(
            pk=statement_id,
            sent=False,
            reason=Statement.FailureReason.BAD_ADDRESS,
            detail="no recipient accepted",
        )
    return _finish(pk=statement_id, sent=True, provider_message_id=provider_message_id(message))


def _retry(pk: int, error: object) -> str:
    logger.warning("sending statement %s failed, will retry: %s", pk, error)
    return _finish(
        pk=pk,
        sent=False,
        reason=Statement.FailureReason.SMTP_ERROR,
        detail=_error_text(error),
        retry=True,
    )


@dataclass
class SendSummary:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)


def statements_send(
    *,
    ids: list[int] | None = None,
    max_batches: int = 100_000,
    connection: BaseEmailBackend | None = None,
) -> SendSummary:
    """Claim pending statements a batch at a time and deliver each, until none is due."""
    summary = SendSummary()
    for _batch in range(max_batches):
        claimed = statements_claim(limit=SEND_BATCH, ids=ids)
        if not claimed:
            break
        claimed_at = time.monotonic()
        for position, pk in enumerate(claimed):
            if position and time.monotonic() - claimed_at > lease().total_seconds() / 2:
                # A slow mail server: hand the rest back before their lease could expire
                # (the sweep would hand them to another sender while this one still had them).
                _release(claimed[position:])
                break
            try:
                status = statement_deliver(statement_id=pk, connection=connection)
            except Exception:
                # A bug for one statement must not stop the rest: its lease returns it.
                logger.exception("delivering statement %s failed", pk)
                continue
            {
                Statement.Status.SENT: summary.sent,
                Statement.Status.FAILED: summary.failed,
            }.get(status, summary.retrying).append(pk)
    return summary


def _release(pks: list[int]) -> None:
    """Return claimed statements this sender did not get to, untried, to the queue."""
    Statement.objects.filter(pk__in=pks, status=Statement.Status.SENDING).update(
        status=Statement.Status.PENDING,
        attempts=F("attempts") - 1,
        sending_started_at=None,
        updated_at=timezone.now(),
    )


def statements_reap(*, timeout: timedelta | None = None) -> int:
    """Return statements whose lease expired in `sending` to `pending`, or fail them stuck."""
    timeout = timeout or lease()
    now = timezone.now()
    reaped = 0
    with transaction.atomic():
        stuck = (
            Statement.objects.select_for_update(skip_locked=True)
            .filter(status=Statement.Status.SENDING, sending_started_at__lt=now - timeout)
            .select_related("customer")
            .order_by("pk")
        )
        for statement in stuck:
            reaped += 1
            if statement.attempts >= max_attempts():
                statement_fail(
                    statement=statement,
                    reason=Statement.FailureReason.STUCK,
                    detail=f"left in sending after {statement.attempts} attempts",
                )
                continue
            statement.status = Statement.Status.PENDING
            statement.next_attempt_at = now
            statement.save(update_fields=["status", "next_attempt_at", "updated_at"])
    return reaped


@transaction.atomic
def statement_retry(*, statement: Statement, actor: AbstractBaseUser) -> Statement:
    """Finance sends a failed or stuck statement again now, with a fresh attempts count."""
    if not has_role(actor, Role.FINANCE):
        raise BusinessRuleError(_("Only finance can send a statement again."))
    statement = (
        Statement.objects.select_for_update().select_related("customer").get(pk=statement.pk)
    )
    stuck = (
        statement.status == Statement.Status.SENDING
        and statement.sending_started_at is not None
        and statement.sending_started_at < timezone.now() - lease()
    )
    if statement.status != Statement.Status.FAILED and not stuck:
        raise BusinessRuleError(_("This statement is not waiting to be sent again."))
    # The address as it is now: the rep may have fixed a missing or bounced one.
    statement.recipient_email = (
        _finance_emails()
        .filter(customer=statement.customer)
        .values_list("email", flat=True)
        .first()
        or ""
    )
    if not statement.recipient_email:
        raise BusinessRuleError(_("Record the customer's finance contact email first."))
    statement.status = Statement.Status.PENDING
    statement.failure_reason = ""
    statement.failure_detail = ""
    statement.attempts = 0
    statement.next_attempt_at = None
    statement.retried_by = actor
    statement.save(
        update_fields=[
            "status",
            "failure_reason",
            "failure_detail",
            "attempts",
            "next_attempt_at",
            "retried_by",
            "recipient_email",
            "updated_at",
        ]
    )
    pk = statement.pk
    transaction.on_commit(lambda: _send_task(pk))
    return statement


def _send_task(pk: int) -> None:
    from statements.tasks import statements_send_task

    statements_send_task.delay(ids=[pk])


def statements_due_exist() -> bool:
    """Whether any statement waits to be claimed now."""
    now = timezone.now()
    return (
        Statement.objects.filter(status=Statement.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exists()
    )
