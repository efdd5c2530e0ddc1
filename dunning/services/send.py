"""Delivering communications: claim under a lock, re-check, send after commit, always finish.

1. `communications_claim` locks a pending message with `FOR UPDATE SKIP LOCKED`
   (two senders never take the same one), re-checks under that lock that
   its items still need dunning (a payment, a dispute, a promise or a pause
   may have landed since the run), and moves it to `sending`, stamping the
   claim (`sending_started_at`, the lease). The sender claims one message
   right before it sends it, so the re-check is as late as it can be.
2. After that transaction commits, `communication_deliver` renders the
   letter if the level has one and sends the email with the message's stable
   `Message-ID`, so that a repeat after a crash is recognisable as the same
   message.
3. Every message ends `sent` or `failed` with a reason. Transient mail-server
   errors (down, refusing, dropping, silent) put it back to `pending` with a
   capped exponential back-off for DUNNING_SEND_RETRY_WINDOW; only then does
   it fail, undelivered, on the finance desk, which can send it again or mark
   it handled by phone. A server that is down stops the batch, so a blackhole
   costs one EMAIL_TIMEOUT, not one per message. `communications_reap`
   returns messages whose lease expired in `sending` (a killed worker) to
   `pending`; that is the one way a message can go out twice, with the same
   Message-ID, at most once per kill.
"""

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.domain_events import domain_events_announce
from dunning.models import (
    CaseEvent,
    Channel,
    CollectionTask,
    Communication,
    DunningPolicy,
    DunningStep,
)
from dunning.models.policy import EMAIL_CHANNELS
from dunning.policy import communication_policy, policy_active_or_default
from dunning.services.communications import (
    communication_fail,
    communication_fail_missing_address,
    communication_sent_domain_event,
)
from dunning.services.events import case_event_create
from dunning.services.items import dunnable, instalment_items, invoice_items, pause_reason
from dunning.services.render import RenderError, communication_email
from receivables.selectors.customers import email_bounced

logger = logging.getLogger(__name__)

# Text added to an email's body when it goes out, never stored with the
# message: the customer's portal link carries a secret that must not sit in
# the database in clear (the `portal` app registers its link here).
BodyExtension = Callable[[Communication], str]
_body_extensions: list[BodyExtension] = []


def email_body_extension_register(*, extension: BodyExtension) -> None:
    """Add text to every dunning email at send time (idempotent per function)."""
    if extension not in _body_extensions:
        _body_extensions.append(extension)


def email_body(*, communication: Communication) -> str:
    """The body as sent: the stored text, then what each registered extension adds."""
    parts = [communication.body.rstrip("\n")]
    for extension in _body_extensions:
        text = extension(communication)
        if text:
            parts.append(text.strip("\n"))
    return "\n\n".join(parts) + "\n"


DEFAULT_MAX_ATTEMPTS = 500
DEFAULT_LEASE = timedelta(minutes=3)
DEFAULT_RETRY_WINDOW = timedelta(days=3)
DEFAULT_RETRY_MAX_DELAY = timedelta(minutes=30)
DEFAULT_CLAIM_BATCH = 1
DEFAULT_SEND_BUDGET = timedelta(minutes=5)


def max_attempts() -> int:
    return getattr(settings, "DUNNING_SEND_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def lease() -> timedelta:
    return getattr(settings, "DUNNING_LEASE", DEFAULT_LEASE)


def retry_window() -> timedelta:
    return getattr(settings, "DUNNING_SEND_RETRY_WINDOW", DEFAULT_RETRY_WINDOW)


def retry_delay(*, attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most DUNNING_SEND_RETRY_MAX_DELAY."""
    cap = getattr(settings, "DUNNING_SEND_RETRY_MAX_DELAY", DEFAULT_RETRY_MAX_DELAY)
    return min(timedelta(seconds=60 * 2 ** min(max(attempts - 1, 0), 20)), cap)


def _retry_allowed(communication: Communication, *, now: datetime) -> bool:
    """Within the attempts bound and the retry window counted from the first claim."""
    started = communication.first_attempt_at or now
    return communication.attempts < max_attempts() and now < started + retry_window()


@dataclass
class SendSummary:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)

    def add(self, status: str, pk: int) -> None:
        {
            Communication.Status.SENT: self.sent,
            Communication.Status.FAILED: self.failed,
            Communication.Status.CANCELLED: self.cancelled,
        }.get(status, self.retrying).append(pk)


def _policy_for(communication: Communication) -> DunningPolicy:
    return communication_policy(communication=communication) or policy_active_or_default()


def recheck_date(communication: Communication) -> date:
    """Re-check on the later of the business date and today: what is known now counts."""
    return max(communication.business_date, timezone.localdate())


def communication_recheck(*, communication: Communication) -> bool:
    """Drop the items that no longer need dunning; cancel the message if none is left.

    Call with the communication locked. Returns whether it should still go out.
    """
    policy = _policy_for(communication)
    as_of = recheck_date(communication)
    steps = list(
        communication.steps.filter(excluded_reason="").select_related(
            "invoice", "instalment__agreement"
        )
    )
    customer_ids = [communication.customer_id]
    invoices = {
        item.pk: item
        for item in invoice_items(as_of=as_of, policy=policy, customer_ids=customer_ids).filter(
            pk__in=[step.invoice_id for step in steps if step.invoice_id]
        )
    }
    instalments = {
        item.pk: item
        for item in instalment_items(as_of=as_of, policy=policy, customer_ids=customer_ids).filter(
            pk__in=[step.instalment_id for step in steps if step.instalment_id]
        )
    }
    still_due_invoices = set(
        dunnable(
            invoice_items(as_of=as_of, policy=policy, customer_ids=customer_ids), policy=policy
        )
        .filter(pk__in=list(invoices))
        .values_list("pk", flat=True)
    )
    still_due_instalments = set(
        dunnable(
            instalment_items(as_of=as_of, policy=policy, customer_ids=customer_ids),
            policy=policy,
        )
        .filter(pk__in=list(instalments))
        .values_list("pk", flat=True)
    )
    keep, dropped = [], []
    for step in steps:
        if step.invoice_id:
            item = invoices.get(step.invoice_id)
            ok = step.invoice_id in still_due_invoices
        else:
            item = instalments.get(step.instalment_id)
            ok = step.instalment_id in still_due_instalments
        if ok:
            keep.append(step)
            continue
        reason = pause_reason(item, policy=policy) if item is not None else "paid"
        # A code, worded when read (`dunning.events.excluded_text`).
        step.excluded_reason = reason or "paid"
        dropped.append(step)
    if dropped:
        DunningStep.objects.bulk_update(dropped, ["excluded_reason"])
    if not keep:
        _cancel(communication=communication, steps=dropped)
        return False
    if dropped:
        communication.total_amount = sum(step.outstanding for step in keep)
        # A letter stored at approval lists the dropped items: the sender renders it
        # again with the rest (nothing has gone out yet).
        communication.letter_pdf = ""
    # The email is rendered when it goes out (the run stores none, as with the letter),
    # or again when items were dropped from the text finance approved.
    unrendered = bool(set(communication.channels) & EMAIL_CHANNELS) and not communication.subject
    if dropped or unrendered:
        try:
            email = communication_email(communication=communication, steps=keep)
        except RenderError as error:
            communication_fail(
                communication=communication,
                reason=Communication.FailureReason.RENDER_ERROR,
                detail=str(error),
            )
            return False
        if email is not None:
            communication.subject, communication.body = email
        communication.save(
            update_fields=["total_amount", "subject", "body", "letter_pdf", "updated_at"]
        )
    if dropped:
        case_event_create(
            customer=communication.customer,
            kind=CaseEvent.Kind.NOTE,
            data={
                "communication": communication.pk,
                "level": communication.level,
                "dropped": [s.item_label for s in dropped],
            },
        )
    return True


def _cancel(*, communication: Communication, steps: list[DunningStep]) -> None:
    excluded = [[step.item_label, step.excluded_reason] for step in steps]
    detail = "; ".join(f"{item}: {code}" for item, code in excluded)
    communication.status = Communication.Status.CANCELLED
    communication.failure_reason = Communication.FailureReason.SETTLED
    communication.failure_detail = detail[:2000]
    communication.save(update_fields=["status", "failure_reason", "failure_detail", "updated_at"])
    CollectionTask.objects.filter(
        communication=communication, status=CollectionTask.Status.OPEN
    ).update(status=CollectionTask.Status.CANCELLED)
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_CANCELLED,
        data={
            "communication": communication.pk,
            "level": communication.level,
            "excluded": excluded,
        },
    )


@dataclass
class Claim:
    """Messages a claim moved to `sending`, and those it ended at re-check instead."""

    claimed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.claimed or self.cancelled or self.failed)


def communications_claim(*, ids: list[int] | None = None, limit: int | None = None) -> Claim:
    """Lock up to `limit` pending messages (skipping locked ones), re-check, mark them sending."""
    now = timezone.now()
    claim = Claim()
    with transaction.atomic():
        queryset = (
            Communication.objects.select_for_update(skip_locked=True)
            .filter(status=Communication.Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
        )
        if ids is not None:
            queryset = queryset.filter(pk__in=ids)
        for communication in queryset[: limit or DEFAULT_CLAIM_BATCH]:
            if not communication_recheck(communication=communication):
                if communication.status == Communication.Status.CANCELLED:
                    claim.cancelled.append(communication.pk)
                else:
                    claim.failed.append(communication.pk)
                continue
            communication.status = Communication.Status.SENDING
            communication.attempts += 1
            communication.sending_started_at = now
            if communication.first_attempt_at is None:
                communication.first_attempt_at = now
            communication.save(
                update_fields=[
                    "status",
                    "attempts",
                    "sending_started_at",
                    "first_attempt_at",
                    "updated_at",
                ]
            )
            claim.claimed.append(communication.pk)
    return claim


def letter_render(*, communication: Communication) -> bytes:
    """The one place the sender asks for a demand letter PDF (dunning.letters renders it)."""
    from dunning.letters import demand_letter_render

    return demand_letter_render(communication=communication)


def _finish(
    *,
    pk: int,
    status: str,
    reason: str = "",
    detail: str = "",
    retry: bool = False,
    provider_message_id: str = "",
) -> str:
    """Record the outcome of one attempt under the row lock; return the final status."""
    with transaction.atomic():
        communication = (
            Communication.objects.select_for_update().select_related("customer").get(pk=pk)
        )
        if communication.status in Communication.TERMINAL:
            return communication.status
        now = timezone.now()
        if retry and _retry_allowed(communication, now=now):
            communication.status = Communication.Status.PENDING
            communication.next_attempt_at = now + retry_delay(attempts=communication.attempts)
            communication.failure_detail = detail[:2000]
            communication.save(
                update_fields=["status", "next_attempt_at", "failure_detail", "updated_at"]
            )
            return communication.status
        if status == Communication.Status.SENT:
            communication.status = Communication.Status.SENT
            communication.sent_at = timezone.now()
            communication.failure_detail = ""
            communication.provider_message_id = provider_message_id
            communication.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "failure_detail",
                    "provider_message_id",
                    "updated_at",
                ]
            )
            _after_sent(communication)
            return communication.status
        if reason == Communication.FailureReason.MISSING_ADDRESS:
            communication_fail_missing_address(communication=communication)
        else:
            communication_fail(communication=communication, reason=reason, detail=detail)
        return communication.status


def _after_sent(communication: Communication) -> None:
    steps = list(communication.steps.filter(excluded_reason=""))
    case_event_create(
        customer=communication.customer,
        kind=CaseEvent.Kind.COMMUNICATION_SENT,
        data={
            "communication": communication.pk,
            "message_id": str(communication.message_id),
            "level": communication.level,
            "recipient": communication.recipient_email,
            "letter": Channel.LETTER in communication.channels,
            "items": [step.item_label for step in steps],
        },
    )
    domain_events_announce(
        events=[
            communication_sent_domain_event(
                communication=communication, labels=[step.item_label for step in steps]
            )
        ]
    )
    if Channel.LETTER in communication.channels and communication.letter_pdf:
        CollectionTask.objects.create(
            kind=CollectionTask.Kind.FOLLOW_UP,
            customer=communication.customer,
            assignee=communication.customer.sales_rep,
            communication=communication,
            params={"what": "print_letter", "customer": communication.customer.name},
            due_date=timezone.localdate(),
        )


def _store_letter(*, pk: int, pdf: bytes) -> Communication | None:
    with transaction.atomic():
        communication = Communication.objects.select_for_update().get(pk=pk)
        if communication.status != Communication.Status.SENDING:
            return None
        if not communication.letter_pdf:
            communication.letter_pdf.save("letter.pdf", ContentFile(pdf), save=False)
            communication.save(update_fields=["letter_pdf", "updated_at"])
        return communication


class MailServerUnavailable(Exception):
    """The mail server is down, silent or dropping connections: stop this batch."""


def communication_deliver(
    *, communication_id: int, connection: BaseEmailBackend | None = None
) -> str:
    """Send one claimed message (outside any transaction) and record how it ended."""
    try:
        return _deliver(communication_id=communication_id, connection=connection)
    except MailServerUnavailable as unavailable:
        return unavailable.args[0]


def _deliver(*, communication_id: int, connection: BaseEmailBackend | None) -> str:
    """Deliver; raise MailServerUnavailable(status) when the server itself failed."""
    communication = Communication.objects.select_related("customer", "run__policy").get(
        pk=communication_id
    )
    if communication.status != Communication.Status.SENDING:
        return communication.status
    channels = set(communication.channels)
    attachments = []
    if Channel.LETTER in channels:
        if not communication.letter_pdf:
            try:
                pdf = letter_render(communication=communication)
            except Exception as error:  # a letter that cannot render must not stop the others
                logger.warning("letter for communication %s failed: %s", communication_id, error)
                return _finish(
                    pk=communication_id,
                    status=Communication.Status.FAILED,
                    reason=Communication.FailureReason.RENDER_ERROR,
                    detail=f"{type(error).__name__}: {error}",
                )
            stored = _store_letter(pk=communication_id, pdf=pdf)
            if stored is None:
                return Communication.objects.get(pk=communication_id).status
            communication = stored
        with communication.letter_pdf.open("rb") as letter:
            attachments.append(
                (
                    f"demand-letter-{communication.customer.code}-"
                    f"{communication.business_date:%Y%m%d}.pdf",
                    letter.read(),
                    "application/pdf",
                )
            )
    if not channels & EMAIL_CHANNELS:
        return _finish(pk=communication_id, status=Communication.Status.SENT)
    if not communication.recipient_email:
        return _finish(
            pk=communication_id,
            status=Communication.Status.FAILED,
            reason=Communication.FailureReason.MISSING_ADDRESS,
        )
    if email_bounced(customer_id=communication.customer_id, email=communication.recipient_email):
        # Never mail an address flagged bounced: the rep's task to fix it stays open.
        return _finish(
            pk=communication_id,
            status=Communication.Status.FAILED,
            reason=Communication.FailureReason.BOUNCED_ADDRESS,
            detail=communication.recipient_email,
        )
    message = EmailMessage(
        subject=communication.subject,
        body=email_body(communication=communication),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[communication.recipient_email],
        headers={
            "Message-ID": communication.email_message_id,
            "X-Huikuan-Communication": str(communication.message_id),
        },
        attachments=attachments,
        # A bounded SMTP timeout keeps every attempt far shorter than the
        # lease, so a slow send is never taken for a dead one.
        connection=connection
        or get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 20),
    )
    # Providers behind anymail echo the metadata in their tracking events.
    message.metadata = {"huikuan_communication": str(communication.message_id)}
    try:
        delivered = message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        return _failed(communication_id, Communication.FailureReason.BAD_ADDRESS, error)
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
        raise MailServerUnavailable(_retry(communication_id, error)) from error
    except smtplib.SMTPResponseException as error:
        if error.smtp_code == 421:  # service not available: the server, not this message
            raise MailServerUnavailable(_retry(communication_id, error)) from error
        if 400 <= error.smtp_code < 500:
            return _retry(communication_id, error)
        return _failed(communication_id, Communication.FailureReason.BOUNCE, error)
    except smtplib.SMTPException as error:  # before OSError, its base class
        return _retry(communication_id, error)
    except OSError as error:
        # Server down, connection refused or reset, timeout: try again later.
        raise MailServerUnavailable(_retry(communication_id, error)) from error
    except ValueError as error:  # malformed address or header
        return _failed(communication_id, Communication.FailureReason.BAD_ADDRESS, error)
    if not delivered:
        return _failed(
            communication_id, Communication.FailureReason.BAD_ADDRESS, "no recipient accepted"
        )
    return _finish(
        pk=communication_id,
        status=Communication.Status.SENT,
        provider_message_id=provider_message_id(message),
    )


def provider_message_id(message: EmailMessage) -> str:
    """The provider's message id anymail recorded at send ("" over plain SMTP)."""
    value = getattr(getattr(message, "anymail_status", None), "message_id", None)
    if isinstance(value, (set, frozenset, list, tuple)):  # one id per recipient: we send to one
        value = next(iter(value), None)
    return "" if value is None else str(value)[:200]


def _failed(pk: int, reason: str, error: object) -> str:
    return _finish(
        pk=pk, status=Communication.Status.FAILED, reason=reason, detail=_error_text(error)
    )


def _retry(pk: int, error: object) -> str:
    logger.warning("sending communication %s failed, will retry: %s", pk, error)
    return _finish(
        pk=pk,
        status=Communication.Status.FAILED,
        reason=Communication.FailureReason.SMTP_ERROR,
        detail=_error_text(error),
        retry=True,
    )


def _error_text(error: object) -> str:
    if isinstance(error, Exception):
        return f"{type(error).__name__}: {error}"
    return str(error)


def communications_send(
    *,
    ids: list[int] | None = None,
    batch: int = DEFAULT_CLAIM_BATCH,
    max_batches: int = 10_000,
    connection: BaseEmailBackend | None = None,
    budget: timedelta = DEFAULT_SEND_BUDGET,
) -> SendSummary:
    """Claim and deliver pending messages one claim at a time until none is due.

    Stops when the mail server is unavailable (the rest waits for its
    back-off) or the time budget is spent (the next sweep goes on), so a
    dead server never runs a task into its time limit.
    """
    summary = SendSummary()
    deadline = time.monotonic() + budget.total_seconds()
    for _batch in range(max_batches):
        if time.monotonic() > deadline:
            break
        claim = communications_claim(ids=ids, limit=batch)
        if not claim:
            break
        summary.cancelled.extend(claim.cancelled)
        summary.failed.extend(claim.failed)
        unavailable: MailServerUnavailable | None = None
        for pk in claim.claimed:
            if unavailable is not None:
                # Claimed with the server already gone: wait with the others.
                summary.add(_retry(pk, unavailable.__cause__ or unavailable), pk)
                continue
            try:
                status = _deliver(communication_id=pk, connection=connection)
            except MailServerUnavailable as error:
                unavailable = error
                status = error.args[0]
            except Exception:
                # A bug for one message must not strand the rest in `sending`:
                # the lease returns this one to pending later.
                logger.exception("delivering communication %s failed", pk)
                continue
            summary.add(status, pk)
        if unavailable is not None:
            break
    return summary


def communications_reap(*, timeout: timedelta | None = None) -> int:
    """Return messages whose lease expired in `sending` to `pending` (or fail them, stuck)."""
    if timeout is None:
        timeout = getattr(settings, "DUNNING_SENDING_TIMEOUT", None) or lease()
    now = timezone.now()
    reaped = 0
    with transaction.atomic():
        stuck = (
            Communication.objects.select_for_update(skip_locked=True)
            .filter(status=Communication.Status.SENDING, sending_started_at__lt=now - timeout)
            .select_related("customer")
            .order_by("pk")
        )
        for communication in stuck:
            reaped += 1
            if not _retry_allowed(communication, now=now):
                communication_fail(
                    communication=communication,
                    reason=Communication.FailureReason.STUCK,
                    detail="",  # the reason and the message's attempts say it
                )
                continue
            communication.status = Communication.Status.PENDING
            communication.next_attempt_at = now
            communication.save(update_fields=["status", "next_attempt_at", "updated_at"])
    return reaped


def communications_due_exist() -> bool:
    """Whether any message waits to be claimed now."""
    now = timezone.now()
    return (
        Communication.objects.filter(status=Communication.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exists()
    )
