"""How the collection timeline, its tasks and its credit holds read: one renderer per kind.

Rows store a kind and parameters (see `core.events`); these functions word them
in the reader's language when they are shown. Kinds:

- the timeline: `CaseEvent.Kind` values (`case_opened`, `communication_sent`, ...);
- a task's title and details: `task:<what>` and `task_details:<what>`
  (`CollectionTask.params["what"]`);
- the ladder's credit hold reasons: `hold:<code>`;
- why an item was left out of a message: `excluded:<code>`.

A parameter named `note` is what a person typed: it is never worded here; pages
show it beside the sentence, as typed and attributed.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, pgettext

from core.events import date_text, label, list_text, register, register_labels, value_text


class _Values:
    """Parameters as `%`-format values: formatted for the reader, missing ones empty."""

    def __init__(self, params: Mapping[str, Any], **extra: Any) -> None:
        self.params = params
        self.extra = extra

    def __getitem__(self, key: str) -> str:
        if key in self.extra:
            return str(self.extra[key])
        return value_text(key, self.params.get(key, ""), self.params)


def _level(params: Mapping[str, Any]) -> str:
    from dunning.models import LevelCode

    code = params.get("level", "")
    return str(LevelCode(code).label) if code in LevelCode.values else gettext("Message")


def _items(params: Mapping[str, Any], key: str = "items") -> str:
    value = params.get(key) or []
    if isinstance(value, str):
        return value
    return list_text(value)


def _reason(code: object) -> str:
    from dunning.models import SettlementReason

    if code in SettlementReason.values:
        return str(SettlementReason(code).label)
    if code == "payment_reversed":
        return gettext("payment reversed")
    return str(code or "")


def _choice(choices: Any, code: object) -> str:
    return str(choices(code).label) if code in choices.values else str(code or "")


# --- The case --------------------------------------------------------------------


@register("case_opened")
def _case_opened(params: Mapping[str, Any]) -> str:
    return gettext("Case opened: items overdue on %(date)s.") % {"date": date_text(params["as_of"])}


@register("case_closed")
def _case_closed(params: Mapping[str, Any]) -> str:
    if params.get("reason"):
        return gettext("Case closed, nothing overdue any more (%(reason)s).") % {
            "reason": _reason(params["reason"])
        }
    return gettext("Case closed: nothing overdue on %(date)s.") % {
        "date": date_text(params["as_of"])
    }


@register("case_reopened")
def _case_reopened(params: Mapping[str, Any]) -> str:
    return gettext("Case reopened: %(reason)s; items overdue again: %(items)s.") % {
        "reason": _reason(params.get("reason")),
        "items": _items(params),
    }


@register("case_updated")
def _case_updated(params: Mapping[str, Any]) -> str:
    from dunning.models import CollectionCase

    return gettext("Overdue reason: %(reason)s.") % {
        "reason": _choice(CollectionCase.OverdueReason, params["overdue_reason"])
    }


# --- Messages --------------------------------------------------------------------


@register("communication_queued")
def _communication_queued(params: Mapping[str, Any]) -> str:
    return gettext("%(level)s prepared for %(items)s.") % {
        "level": _level(params),
        "items": _items(params),
    }


@register("communication_approved")
def _communication_approved(params: Mapping[str, Any]) -> str:
    return gettext("%(level)s approved.") % {"level": _level(params)}


@register("communication_sent")
def _communication_sent(params: Mapping[str, Any]) -> str:
    if params.get("recipient"):
        return gettext("%(level)s sent to %(recipient)s for %(items)s.") % {
            "level": _level(params),
            "recipient": params["recipient"],
            "items": _items(params),
        }
    if params.get("letter"):
        return gettext("%(level)s sent to %(recipient)s for %(items)s.") % {
            "level": _level(params),
            "recipient": gettext("the customer"),
            "items": _items(params),
        }
    if "items" in params:
        return gettext("%(level)s carried out for %(items)s.") % {
            "level": _level(params),
            "items": _items(params),
        }
    return gettext("%(level)s sent.") % {"level": _level(params)}


@register("communication_failed")
def _communication_failed(params: Mapping[str, Any]) -> str:
    from dunning.models import Communication

    return gettext("%(level)s could not be sent: %(reason)s.") % {
        "level": _level(params),
        "reason": _choice(Communication.FailureReason, params.get("reason")),
    }


@register("communication_cancelled")
def _communication_cancelled(params: Mapping[str, Any]) -> str:
    if params.get("refused"):
        return gettext("%(level)s refused.") % {"level": _level(params)}
    if "excluded" in params:
        details = [
            gettext("%(item)s: %(reason)s") % {"item": item, "reason": excluded_text(code)}
            for item, code in params["excluded"]
        ]
        return gettext("%(level)s not sent: %(detail)s") % {
            "level": _level(params),
            "detail": pgettext("list of reasons", "; ").join(details),
        }
    return gettext("Message not sent, its items are settled (%(reason)s): %(items)s.") % {
        "reason": _reason(params.get("reason")),
        "items": _items(params),
    }


@register("communication_retried")
def _communication_retried(params: Mapping[str, Any]) -> str:
    if params.get("previous_recipient"):
        return gettext("%(level)s sent again, to %(recipient)s instead of %(previous)s.") % {
            "level": _level(params),
            "recipient": params.get("recipient", ""),
            "previous": params["previous_recipient"],
        }
    return gettext("%(level)s sent again.") % {"level": _level(params)}


@register("communication_handled")
def _communication_handled(params: Mapping[str, Any]) -> str:
    return gettext("Message handled by phone.")


@register("note")
def _note(params: Mapping[str, Any]) -> str:
    if "dropped" in params:
        return gettext("%(level)s: %(items)s left out, no longer due.") % {
            "level": _level(params),
            "items": _items(params, "dropped"),
        }
    return ""


@register("thank_you_sent")
def _thank_you_sent(params: Mapping[str, Any]) -> str:
    return gettext("Thank-you for the payment of %(number)s sent to %(recipient)s.") % {
        "number": params["number"],
        "recipient": params["recipient"],
    }


# --- Tasks -----------------------------------------------------------------------


def task_title(params: Mapping[str, Any] | None, *, fallback: str = "") -> str:
    """A task's title from its parameters (`CollectionTask.params` or an event's copy)."""
    if params and params.get("what"):
        from core.events import render

        return render(f"task:{params['what']}", params)
    return fallback


@register("task_created")
def _task_created(params: Mapping[str, Any]) -> str:
    title = task_title(params.get("task_params"), fallback=params.get("title", ""))
    if not title:
        title = _task_kind(params)
    if params.get("due_date"):
        return gettext("Task: %(title)s (due %(date)s).") % {
            "title": title,
            "date": date_text(params["due_date"]),
        }
    return gettext("Task: %(title)s.") % {"title": title}


def _task_kind(params: Mapping[str, Any]) -> str:
    from dunning.models import CollectionTask

    return _choice(CollectionTask.Kind, params.get("kind"))


@register("task_completed")
def _task_completed(params: Mapping[str, Any]) -> str:
    title = task_title(params.get("task_params"), fallback=params.get("title", ""))
    return gettext("Task done: %(title)s.") % {"title": title or _task_kind(params)}


@register("task_closed")
def _task_closed(params: Mapping[str, Any]) -> str:
    title = task_title(params.get("task_params"), fallback=params.get("title", ""))
    return gettext("%(title)s — closed: %(reason)s.") % {
        "title": title or _task_kind(params),
        "reason": _reason(params.get("reason")),
    }


@register("task_reopened")
def _task_reopened(params: Mapping[str, Any]) -> str:
    title = task_title(params.get("task_params"), fallback=params.get("title", ""))
    return gettext("%(title)s — reopened: %(reason)s.") % {
        "title": title or _task_kind(params),
        "reason": _reason(params.get("reason")),
    }


@register("task:call")
def _task_call(params: Mapping[str, Any]) -> str:
    return gettext("Call %(customer)s about overdue %(items)s") % _Values(
        params, items=_items(params)
    )


@register("task:escalate")
def _task_escalate(params: Mapping[str, Any]) -> str:
    return gettext("Escalate %(customer)s to their management: %(items)s") % _Values(
        params, items=_items(params)
    )


@register("task:legal")
def _task_legal(params: Mapping[str, Any]) -> str:
    return gettext("Refer %(customer)s to legal: %(items)s") % _Values(params, items=_items(params))


@register("task:no_email")
def _task_no_email(params: Mapping[str, Any]) -> str:
    return gettext("No email address for %(customer)s: contact them about %(items)s") % _Values(
        params, items=_items(params)
    )


@register("task:print_letter")
def _task_print_letter(params: Mapping[str, Any]) -> str:
    return gettext(
        "Print the demand letter for %(customer)s and send it by registered mail"
    ) % _Values(params)


@register("task:promise_broken")
def _task_promise_broken(params: Mapping[str, Any]) -> str:
    return gettext("Promise broken by %(customer)s: call them") % _Values(params)


@register("task:follow_up")
def _task_follow_up(params: Mapping[str, Any]) -> str:
    return gettext("Follow up with %(customer)s: is the payment on its way?") % _Values(params)


@register("task:call_again")
def _task_call_again(params: Mapping[str, Any]) -> str:
    return gettext("Call %(customer)s again") % _Values(params)


def task_details(params: Mapping[str, Any] | None) -> str:
    """The sentence the system adds under a task's title, if any (what a person typed aside)."""
    if not params or not params.get("details"):
        return ""
    from core.events import render

    return render(f"task_details:{params['details']}", params)


@register("task_details:no_email")
def _details_no_email(params: Mapping[str, Any]) -> str:
    text = gettext(
        "The %(level)s could not be emailed because the customer has no %(contact)s "
        "contact with an email address. Call them, and add the address."
    ) % {
        "level": _level(params),
        "contact": gettext("executive")
        if params.get("contact") == "executive"
        else gettext("finance"),
    }
    if params.get("letter"):
        text += gettext(
            " The demand letter is stored on the message: print it and send it by registered mail."
        )
    return text


@register("task_details:promise_broken")
def _details_promise_broken(params: Mapping[str, Any]) -> str:
    return gettext("%(currency)s %(amount)s was promised by %(date)s; %(paid)s arrived.") % {
        "currency": params.get("currency", ""),
        "amount": value_text("amount", params.get("amount", "")),
        "date": date_text(params.get("date", "")),
        "paid": value_text("paid", params.get("paid", "")),
    }


@register("task_details:follow_up")
def _details_follow_up(params: Mapping[str, Any]) -> str:
    return gettext(
        "The customer reported an internal delay (forgotten, approval, paperwork). "
        "Check the payment was released; the reminders go on meanwhile."
    )


# --- Credit hold, promises, disputes, agreements, pauses --------------------------


@register("credit_hold")
def _credit_hold(params: Mapping[str, Any]) -> str:
    if params.get("reason"):
        return gettext("Credit hold of the legal referral back: %(reason)s.") % {
            "reason": _reason(params["reason"])
        }
    if params.get("hold_event"):
        return gettext("Customer put on credit hold (legal referral).")
    return gettext("Legal referral: the customer was already on credit hold.")


@register("credit_hold_released")
def _credit_hold_released(params: Mapping[str, Any]) -> str:
    return gettext("Credit hold of the legal referral lifted: nothing overdue any more.")


@register("hold:legal_referral")
def _hold_legal_referral(params: Mapping[str, Any]) -> str:
    return gettext("Legal referral by the dunning ladder: %(items)s") % {"items": _items(params)}


@register("contact_attempt")
def _contact_attempt(params: Mapping[str, Any]) -> str:
    from dunning.services.cases import CallOutcome

    contact = params.get("contact")
    return gettext("Call%(contact)s: %(outcome)s.") % {
        "contact": f" ({contact})" if contact else "",
        "outcome": _choice(CallOutcome, params["outcome"]),
    }


@register("dispute_opened")
def _dispute_opened(params: Mapping[str, Any]) -> str:
    return gettext("Dispute on %(invoices)s.") % {"invoices": _items(params, "invoices")}


@register("dispute_resolved")
def _dispute_resolved(params: Mapping[str, Any]) -> str:
    if params.get("outcome") == "rejected":
        return gettext("Dispute rejected; dunning resumes.")
    if params.get("credit_notes"):
        return gettext("Dispute accepted; credit notes %(credits)s.") % {
            "credits": _items(params, "credit_notes")
        }
    return gettext("Dispute accepted.")


@register("promise_made")
def _promise_made(params: Mapping[str, Any]) -> str:
    return gettext("Promise to pay %(amount)s by %(date)s for %(invoices)s.") % _Values(
        params,
        invoices=_items(params, "invoices"),
        date=date_text(params.get("promised_date") or params.get("date", "")),
    )


@register("promise_kept")
def _promise_kept(params: Mapping[str, Any]) -> str:
    return gettext("Promise kept: %(amount)s promised by %(date)s, %(paid)s paid.") % _Values(
        params
    )


@register("promise_broken")
def _promise_broken(params: Mapping[str, Any]) -> str:
    return gettext(
        "Promise broken: %(amount)s promised by %(date)s, only %(paid)s paid. Dunning resumes."
    ) % _Values(params)


def _agreement_kind(params: Mapping[str, Any]) -> str:
    from contracts.models import SupplementaryAgreement

    return _choice(SupplementaryAgreement.Kind, params.get("agreement_kind"))


@register("agreement_proposed")
def _agreement_proposed(params: Mapping[str, Any]) -> str:
    return gettext(
        "%(kind)s %(number)s proposed for %(invoices)s: %(count)s date(s), %(owed)s."
    ) % {
        "kind": _agreement_kind(params),
        "number": params["number"],
        "invoices": _items(params, "invoices"),
        "count": params.get("count", ""),
        "owed": value_text("owed", params.get("owed", ""), params),
    }


@register("agreement_approved")
def _agreement_approved(params: Mapping[str, Any]) -> str:
    dates = list_text(
        f"{date_text(due)} {value_text('amount', amount, params)}"
        for due, amount in params.get("schedule") or []
    )
    contract = params.get("contract")
    return gettext(
        "%(kind)s %(number)s approved%(contract)s: %(invoices)s now fall due as %(dates)s."
    ) % {
        "kind": _agreement_kind(params),
        "number": params["number"],
        "contract": gettext(" against contract %(number)s") % {"number": contract}
        if contract
        else "",
        "invoices": _items(params, "invoices"),
        "dates": dates,
    }


@register("agreement_rejected")
def _agreement_rejected(params: Mapping[str, Any]) -> str:
    return gettext("%(kind)s %(number)s rejected.") % {
        "kind": _agreement_kind(params),
        "number": params["number"],
    }


@register("dunning_paused")
def _dunning_paused(params: Mapping[str, Any]) -> str:
    return gettext("Dunning paused until %(date)s.") % {"date": date_text(params["until"])}


@register("dunning_resumed")
def _dunning_resumed(params: Mapping[str, Any]) -> str:
    return gettext("Dunning resumed (the pause ran until %(date)s).") % {
        "date": date_text(params["previous_until"])
    }


# --- Why an item was left out of a message ----------------------------------------

EXCLUDED_CODES = (
    "customer_paused",
    "replaced_by_agreement",
    "dispute",
    "promise",
    "paid",
    "below_tolerance",
)


def excluded_text(code: str) -> str:
    """Why a step was left out of its message, in the reader's language."""
    labels = {
        "customer_paused": gettext("customer paused"),
        "replaced_by_agreement": gettext("replaced by a supplementary agreement"),
        "dispute": gettext("in dispute"),
        "promise": gettext("promised"),
        "paid": gettext("paid"),
        "below_tolerance": gettext("below tolerance"),
    }
    return labels.get(code, code)


def labels_register() -> None:
    """Register the labels of the kinds this app writes, for kinds without a renderer."""
    from dunning.models import CaseEvent, CollectionTask

    register_labels(CaseEvent.Kind.choices)
    register_labels(CollectionTask.Kind.choices, prefix="task:")


__all__ = ["excluded_text", "label", "labels_register", "task_details", "task_title"]
