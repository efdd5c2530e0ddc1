"""Rows stored as a kind and parameters read in the reader's language (`core.events`)."""

import re

import pytest
from django.utils import translation

from core.events import render
from dunning.events import excluded_text
from dunning.models import CaseEvent, CollectionTask

ITEMS = ["INV-1", "INV-2#1"]

# Parameters as the services write them, one sample per kind.
SAMPLES: dict[str, dict] = {
    "case_opened": {"as_of": "2026-09-16"},
    "case_closed": {"as_of": "2026-09-16"},
    "case_updated": {"overdue_reason": "cash_flow", "previous": "unknown", "note": "资金周转困难"},
    "communication_queued": {"communication": 1, "level": "reminder", "items": ITEMS},
    "communication_approved": {"communication": 1, "level": "demand_letter"},
    "communication_sent": {
        "communication": 1,
        "level": "reminder",
        "recipient": "ap@example.com",
        "items": ITEMS,
    },
    "communication_failed": {"communication": 1, "level": "reminder", "reason": "missing_address"},
    "communication_cancelled": {
        "communication": 1,
        "level": "pre_due",
        "excluded": [["INV-1", "paid"], ["INV-2#1", "dispute"]],
    },
    "communication_retried": {"communication": 1, "level": "reminder"},
    "communication_handled": {"communication": 1, "level": "reminder", "note": "Called"},
    "task_created": {
        "task": 1,
        "kind": "call",
        "task_params": {"what": "call", "customer": "ACME", "items": ITEMS},
        "due_date": "2026-09-16",
    },
    "task_completed": {
        "task": 1,
        "kind": "call",
        "task_params": {"what": "escalate", "customer": "ACME", "items": ITEMS},
    },
    "task_closed": {
        "task": 1,
        "kind": "call",
        "task_params": {"what": "legal", "customer": "ACME", "items": ITEMS},
        "reason": "paid",
    },
    "task_reopened": {
        "task": 1,
        "kind": "call",
        "task_params": {"what": "no_email", "customer": "ACME", "items": ITEMS},
        "reason": "payment_reversed",
    },
    "case_reopened": {"reason": "payment_reversed", "items": ITEMS},
    "credit_hold_released": {"hold_event": 3, "reason": "settled"},
    "contact_attempt": {"outcome": "reached", "contact": "Ms Li", "note": "pays Friday"},
    "dispute_opened": {"dispute": 1, "invoices": ITEMS, "note": "wrong quantity"},
    "dispute_resolved": {"dispute": 1, "outcome": "rejected", "note": "signed receipt"},
    "promise_made": {
        "promise": 1,
        "currency": "CNY",
        "amount": "9000.00",
        "promised_date": "2026-09-16",
        "invoices": ITEMS,
    },
    "promise_kept": {
        "promise": 1,
        "currency": "CNY",
        "amount": "9000.00",
        "date": "2026-09-16",
        "paid": "9000.00",
    },
    "promise_broken": {
        "promise": 1,
        "currency": "CNY",
        "amount": "9000.00",
        "date": "2026-09-16",
        "paid": "100.00",
    },
    "agreement_proposed": {
        "agreement": 1,
        "agreement_kind": "instalment_plan",
        "number": "SA-1",
        "invoices": ITEMS,
        "count": 3,
        "currency": "CNY",
        "owed": "99999999.00",
    },
    "agreement_approved": {
        "agreement": 1,
        "agreement_kind": "extension",
        "number": "SA-1",
        "contract": "HT-1",
        "invoices": ITEMS,
        "currency": "CNY",
        "schedule": [["2026-10-01", "4500.00"], ["2026-11-01", "4500.00"]],
    },
    "agreement_rejected": {"agreement": 1, "agreement_kind": "extension", "number": "SA-1"},
    "dunning_paused": {"until": "2026-09-30", "note": "audit"},
    "dunning_resumed": {"previous_until": "2026-09-30"},
    "credit_hold": {"communication": 1, "hold_event": 4},
    "payment_received": {"payment": 1, "currency": "CNY", "amount": "45000.00"},
    "thank_you_sent": {"invoice": 1, "number": "INV-1", "recipient": "ap@example.com"},
    "note": {"communication": 1, "level": "reminder", "dropped": ITEMS},
    "statement_sent": {
        "statement": 1,
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "closing": "1000.00",
        "currency": "CNY",
        "recipient": "ap@example.com",
    },
    "statement_failed": {"statement": 1, "period_start": "2026-11-01", "reason": "bounce"},
    "email_bounced": {"communication": 1, "email": "ap@example.com", "event": "bounced"},
    "portal_balance_confirmed": {
        "contact": "Li",
        "position": "VP",
        "as_of": "2026-11-30",
        "currency": "CNY",
        "amount": "1000.00",
    },
    "portal_dispute": {"contact": "Li", "invoices": ITEMS},
    "portal_promise": {
        "contact": "Li",
        "currency": "CNY",
        "amount": "1000.00",
        "promised_date": "2026-12-15",
        "invoices": ITEMS,
    },
    "portal_document_requested": {"contact": "Li", "document": "", "invoices": ITEMS},
    "receipt_applied": {
        "transaction_id": "TX-1",
        "date": "2026-11-30",
        "amount": "1000.00",
        "currency": "CNY",
        "items": ITEMS,
        "automatic": True,
    },
    "receipt_claimed": {
        "transaction_id": "TX-1",
        "date": "2026-11-30",
        "amount": "1000.00",
        "currency": "CNY",
        "invoices": ITEMS,
    },
    "receipt_claim_rejected": {"transaction_id": "TX-1", "date": "2026-11-30", "reason": ""},
    "receipt_dismissed": {
        "transaction_id": "TX-1",
        "date": "2026-11-30",
        "amount": "1000.00",
        "currency": "CNY",
        "reason": "",
    },
    "bill_received": {
        "bill": "BA-1",
        "currency": "CNY",
        "face_amount": "1000.00",
        "maturity_date": "2027-05-30",
        "date": "2026-11-30",
        "items": ITEMS,
    },
    "bill_endorsed": {"bill": "BA-1", "endorsee": "", "date": "2026-11-30"},
    "bill_discounted": {
        "bill": "BA-1",
        "currency": "CNY",
        "discount_amount": "10.00",
        "cash_received": "990.00",
        "date": "2026-11-30",
    },
    "bill_collected": {
        "bill": "BA-1",
        "currency": "CNY",
        "face_amount": "1000.00",
        "date": "2026-11-30",
    },
    "bill_dishonoured": {"bill": "BA-1", "date": "2026-11-30", "reason": "", "items": ITEMS},
}

EMAIL = re.compile(r"\S+@\S+")
CJK = re.compile(r"[\u4e00-\u9fff]")
# English words a Chinese rendering must not contain (the parameters are numbers and codes).
ENGLISH_WORD = re.compile(r"\b(?!INV\b|ACME\b|HT\b|SA\b|CNY\b|Ms\b|Li\b)[A-Za-z]{3,}\b")


def test_every_timeline_kind_has_a_sample():
    assert set(SAMPLES) == set(CaseEvent.Kind.values)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_reads_in_either_language(kind):
    params = SAMPLES[kind]

    with translation.override("en"):
        english = render(kind, params)
    with translation.override("zh-hans"):
        chinese = render(kind, params)

    assert english
    assert not CJK.search(english)
    assert CJK.search(chinese), chinese
    assert not ENGLISH_WORD.search(EMAIL.sub("", chinese)), chinese


def test_what_a_person_typed_is_never_part_of_the_sentence():
    with translation.override("en"):
        text = render("contact_attempt", SAMPLES["contact_attempt"])

    assert "pays Friday" not in text
    assert text == "Call (Ms Li): Reached the customer."


def test_amounts_are_grouped_and_dates_written_one_way_per_language():
    params = SAMPLES["promise_broken"]

    with translation.override("en"):
        english = render("promise_broken", params)
    with translation.override("zh-hans"):
        chinese = render("promise_broken", params)

    assert "CNY 9,000.00" in english
    assert "CNY 100.00" in english
    assert "2026-09-16" in english
    assert "CNY 9,000.00" in chinese
    assert "2026-09-16" in chinese


def test_a_kind_without_a_renderer_reads_as_its_label_and_values():
    params = {"invoice": 7, "currency": "CNY", "amount": "45000", "on": "2026-09-16"}

    with translation.override("en"):
        assert render("widget_frobbed", params) == "Widget frobbed: CNY 45,000.00, 2026-09-16"


def test_a_registered_kind_without_a_renderer_uses_its_translated_label():
    with translation.override("zh-hans"):
        text = render("payment_received", {"payment": 1, "currency": "CNY", "amount": "45000"})

    assert text == "已收到付款：CNY 45,000.00"  # noqa: RUF001


def test_a_row_missing_its_parameters_falls_back_instead_of_failing():
    with translation.override("en"):
        assert render("case_opened", {}) == "Case opened"


@pytest.mark.parametrize(
    "what",
    [
        "call",
        "escalate",
        "legal",
        "no_email",
        "print_letter",
        "promise_broken",
        "follow_up",
        "call_again",
    ],
)
def test_every_task_title_reads_in_chinese(what):
    task = CollectionTask(
        kind=CollectionTask.Kind.CALL, params={"what": what, "customer": "ACME", "items": ITEMS}
    )

    with translation.override("zh-hans"):
        title = task.display_title

    assert CJK.search(title), title
    assert "ACME" in title


def test_skip_reasons_are_codes_worded_for_the_reader():
    with translation.override("zh-hans"):
        assert excluded_text("paid") == "已付清"
    with translation.override("en"):
        assert excluded_text("below_tolerance") == "below tolerance"
