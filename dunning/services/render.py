"""Email text of a communication, from `templates/<name>.<language>.txt` in the customer's language.

The first line of a template is the subject; the rest, after a blank line,
is the body. Templates render with autoescape off (plain text).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.template.loader import get_template, render_to_string
from django.utils import translation

from dunning.creditor import creditor_setting
from dunning.models import Communication, DunningLevel, DunningPolicy, DunningStep
from dunning.models.policy import EMAIL_CHANNELS
from dunning.policy import communication_letter_date, communication_policy, letter_deadline


class RenderError(Exception):
    """A template is missing or broken; the message says which."""


@dataclass(frozen=True)
class ItemLine:
    label: str
    due_date: date
    amount: Decimal
    outstanding: Decimal
    days_past_due: int

    @property
    def days_to_due(self) -> int:
        return -self.days_past_due


def money_text(value: Decimal) -> str:
    """1234.5 → '1,234.50' (letters and emails, not machine interfaces)."""
    return f"{value:,.2f}"


def step_lines(*, steps: list[DunningStep], as_of: date) -> list[ItemLine]:
    """The items a message lists, oldest due date first."""
    lines = []
    for step in sorted(steps, key=lambda step: (step.due_date, step.pk or 0)):
        amount = step.invoice.amount if step.invoice_id else step.instalment.amount
        lines.append(
            ItemLine(
                label=step.item_label,
                due_date=step.due_date,
                amount=amount,
                outstanding=step.outstanding,
                days_past_due=(as_of - step.due_date).days,
            )
        )
    return lines


def _template_name(*, level: DunningLevel, language: str) -> str:
    if not level.email_template:
        raise RenderError(f"level {level.code} has no email template")
    return f"{level.email_template}.{language}.txt"


def email_template_error(*, level: DunningLevel, language: str) -> str:
    """Why the level's email cannot be rendered in the language ('' when it can): the run
    checks this once per level and language, and renders the text only when it goes out."""
    try:
        template_name = _template_name(level=level, language=language)
    except RenderError as error:
        return str(error)
    try:
        get_template(template_name)
    except Exception as error:  # TemplateDoesNotExist, TemplateSyntaxError
        return f"{template_name}: {error}"
    return ""


def communication_render(
    *,
    communication: Communication,
    steps: list[DunningStep],
    level: DunningLevel,
    policy: DunningPolicy,
) -> tuple[str, str]:
    """Render the subject and body of the message in the customer's language."""
    customer = communication.customer
    language = communication.language or customer.language
    template_name = _template_name(level=level, language=language)
    letter_date = communication_letter_date(communication=communication)
    lines = step_lines(steps=steps, as_of=letter_date)
    total = sum((line.outstanding for line in lines), Decimal("0.00"))
    rep = customer.sales_rep
    context = {
        "customer": customer,
        "recipient_name": communication.recipient_name,
        "items": [
            {
                "label": line.label,
                "due_date": line.due_date.isoformat(),
                "amount": money_text(line.amount),
                "outstanding": money_text(line.outstanding),
                "days_past_due": line.days_past_due,
                "days_to_due": line.days_to_due,
            }
            for line in lines
        ],
        "total": money_text(total),
        "currency": communication.currency,
        "as_of": letter_date.isoformat(),
        "deadline": letter_deadline(letter_date=letter_date, policy=policy).isoformat(),
        "creditor_name": creditor_setting("CREDITOR_NAME", language=language) or "Huikuan",
        "rep_name": rep.get_full_name() or rep.get_username(),
        "rep_email": rep.email,
        "has_letter": "letter" in communication.channels,
    }
    try:
        with translation.override(language):
            text = render_to_string(template_name, context)
    except Exception as error:  # TemplateDoesNotExist, TemplateSyntaxError, bad context
        raise RenderError(f"{template_name}: {error}") from error
    subject, _, body = text.strip().partition("\n")
    subject = " ".join(subject.split())
    if not subject or not body.strip():
        raise RenderError(f"{template_name}: the subject line or the body is empty")
    return subject[:300], body.strip() + "\n"


def communication_email(
    *, communication: Communication, steps: list[DunningStep] | None = None
) -> tuple[str, str] | None:
    """The subject and body the message goes out with, or None when it has no email channel.

    The run stores no text: the sender renders it when the message goes out (approval
    stores it earlier, for finance to approve what is sent), and pages preview it here.
    """
    if not set(communication.channels) & EMAIL_CHANNELS:
        return None
    policy = communication_policy(communication=communication)
    level = (
        DunningLevel.objects.filter(policy=policy, code=communication.level).first()
        if policy is not None
        else None
    )
    if level is None or not level.sends_email:
        # Its level was removed or stopped emailing since: never an email without text.
        raise RenderError(f"level {communication.level} of the message's policy sends no email")
    if steps is None:
        steps = list(
            communication.steps.filter(excluded_reason="").select_related(
                "invoice", "instalment__agreement"
            )
        )
    return communication_render(
        communication=communication, steps=steps, level=level, policy=policy
    )
