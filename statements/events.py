"""How statements and bounced emails read on the timeline and in tasks, worded at display time."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from core.events import amount_text, date_text, register
from dunning.models import CaseEvent, CollectionTask


def _statement_sent(params: Mapping[str, Any]) -> str:
    return gettext(
        "Statement of account %(start)s to %(end)s sent to %(recipient)s: closing balance "
        "%(closing)s."
    ) % {
        "start": date_text(params.get("period_start", "")),
        "end": date_text(params.get("period_end", "")),
        "recipient": params.get("recipient", ""),
        "closing": amount_text(params.get("closing", ""), currency=params.get("currency", "")),
    }


def _statement_failed(params: Mapping[str, Any]) -> str:
    from statements.models import Statement

    code = params.get("reason", "")
    reasons = dict(Statement.FailureReason.choices)
    return gettext("Statement of account from %(start)s not delivered: %(reason)s.") % {
        "start": date_text(params.get("period_start", "")),
        "reason": str(reasons.get(code, code)),
    }


def _email_bounced(params: Mapping[str, Any]) -> str:
    return gettext("Email to %(email)s bounced: the address is flagged.") % {
        "email": params.get("email", "")
    }


def _task_fix_contact_email(params: Mapping[str, Any]) -> str:
    return gettext("Email to %(email)s bounced: get the right address and correct the contact") % {
        "email": params.get("email", "")
    }


def events_register() -> None:
    """Register the statements' timeline kinds and task titles with `core.events`."""
    register(CaseEvent.Kind.STATEMENT_SENT)(_statement_sent)
    register(CaseEvent.Kind.STATEMENT_FAILED)(_statement_failed)
    register(CaseEvent.Kind.EMAIL_BOUNCED)(_email_bounced)
    register(f"task:{CollectionTask.Kind.FIX_CONTACT_EMAIL}")(_task_fix_contact_email)
