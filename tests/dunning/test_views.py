"""Collection screens: wiring, permissions (404 out of scope, 403 without role), query bounds."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from contracts.models import SupplementaryAgreement
from dunning.models import (
    CaseEvent,
    CollectionCase,
    CollectionTask,
    Communication,
    Dispute,
    PromiseToPay,
)
from dunning.services.agreements import InstalmentInput, agreement_propose
from receivables.models import CreditNote
from tests.factories.cases import (
    CollectionCaseFactory,
    CommunicationFactory,
    ContractFactory,
    DisputeFactory,
    DunningStepFactory,
    SupplementaryAgreementFactory,
    invoice_under_contract,
    overdue_invoice,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2026-03-02 10:00 +0800", tick=False):
        yield


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def other_rep():
    return SalesRepFactory()


@pytest.fixture
def customer(rep):
    customer = CustomerFactory(sales_rep=rep, language="en")
    ContactFactory(customer=customer)
    return customer


@pytest.fixture
def invoice(customer):
    return overdue_invoice(customer=customer, due=date(2026, 2, 1), amount="5000.00")


@pytest.fixture
def case(customer, invoice, rep):
    return CollectionCaseFactory(customer=customer, owner=rep, opened_on=date(2026, 2, 2))


@pytest.fixture
def stored_letter(customer, invoice):
    # A sent message is evidence: its letter is stored with it, never attached later.
    communication = CommunicationFactory(
        customer=customer,
        status=Communication.Status.SENT,
        letter_pdf=ContentFile(b"%PDF-1.7 stored letter", name="letter.pdf"),
    )
    DunningStepFactory(invoice=invoice, communication=communication)
    return communication


# --- Cases -------------------------------------------------------------------


def test_rep_sees_only_own_cases_within_a_query_bound(
    client, rep, case, django_assert_max_num_queries
):
    for _ in range(5):
        foreign = CustomerFactory(name="Foreign Customer Co")
        overdue_invoice(customer=foreign, due=date(2026, 2, 1))
        CollectionCaseFactory(customer=foreign)
    client.force_login(rep)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("dunning:case_list"))

    assert response.status_code == 200
    assert case.customer.name in response.content.decode()
    assert "Foreign Customer Co" not in response.content.decode()
    [row] = response.context["cases"]
    assert row.overdue_total == Decimal("5000.00")


def test_finance_sees_every_case_list_within_the_same_bound(
    client, case, django_assert_max_num_queries
):
    for _ in range(8):
        other = CustomerFactory()
        overdue_invoice(customer=other, due=date(2026, 2, 1))
        CollectionCaseFactory(customer=other)
    client.force_login(FinanceUserFactory())

    with django_assert_max_num_queries(10):
        response = client.get(reverse("dunning:case_list"))

    assert len(response.context["cases"]) == 9


def test_case_detail_shows_items_tasks_and_timeline(
    client, rep, case, invoice, django_assert_max_num_queries
):
    CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=case.customer,
        case=case,
        assignee=rep,
        title="Call about the overdue invoice",
        due_date=TODAY,
    )
    CaseEvent.objects.create(
        customer=case.customer, case=case, kind=CaseEvent.Kind.NOTE, actor=rep, text="First note"
    )
    client.force_login(rep)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("dunning:case_detail", args=[case.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert invoice.number in body
    assert "Call about the overdue invoice" in body
    assert "First note" in body


def test_another_reps_case_answers_404_and_nothing_is_written(client, other_rep, case):
    client.force_login(other_rep)

    assert client.get(reverse("dunning:case_detail", args=[case.pk])).status_code == 404
    response = client.post(
        reverse("dunning:case_set_reason", args=[case.pk]), {"overdue_reason": "cash_flow"}
    )
    assert response.status_code == 404
    response = client.post(
        reverse("dunning:case_log_call", args=[case.pk]), {"outcome": "no_answer"}
    )
    assert response.status_code == 404
    assert not CaseEvent.objects.exists()
    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.UNKNOWN


def test_rep_records_the_reason_and_is_led_to_the_dispute_form(client, rep, case):
    client.force_login(rep)

    response = client.post(
        reverse("dunning:case_set_reason", args=[case.pk]),
        {"overdue_reason": "dispute", "note": "Quality complaint"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "dunning:dispute_create", kwargs={"customer_pk": case.customer_id}
    )
    case.refresh_from_db()
    assert case.overdue_reason == CollectionCase.OverdueReason.DISPUTE


def test_rep_logs_a_call_that_closes_the_preselected_task(client, rep, case):
    task = CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=case.customer,
        case=case,
        assignee=rep,
        title="Call",
        due_date=TODAY,
    )
    client.force_login(rep)

    page = client.get(reverse("dunning:case_log_call", args=[case.pk]), {"task": task.pk})
    assert page.context["form"].initial["task"] == task.pk

    response = client.post(
        reverse("dunning:case_log_call", args=[case.pk]),
        {"outcome": "reached", "note": "Pays Friday", "task": task.pk},
    )

    assert response.status_code == 302
    attempt = CaseEvent.objects.get(kind=CaseEvent.Kind.CONTACT_ATTEMPT)
    assert attempt.actor == rep
    task.refresh_from_db()
    assert task.status == CollectionTask.Status.DONE


def test_a_call_reached_without_a_note_is_refused_with_a_message(client, rep, case):
    client.force_login(rep)

    response = client.post(reverse("dunning:case_log_call", args=[case.pk]), {"outcome": "reached"})

    assert response.status_code == 400
    assert "Write what the customer said." in response.content.decode()
    assert not CaseEvent.objects.exists()


# --- Promises, disputes, agreements from the case ----------------------------


def test_rep_records_a_promise_and_a_past_date_is_refused(client, rep, case, invoice):
    client.force_login(rep)
    url = reverse("dunning:promise_create", args=[case.customer_id])

    refused = client.post(
        url, {"invoices": [invoice.pk], "amount": "5000.00", "promised_date": "2026-03-01"}
    )
    assert refused.status_code == 400
    assert "in the past" in refused.content.decode()
    assert not PromiseToPay.objects.exists()

    response = client.post(
        url, {"invoices": [invoice.pk], "amount": "5000.00", "promised_date": "2026-03-10"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dunning:case_detail", args=[case.pk])
    assert PromiseToPay.objects.get().promised_date == date(2026, 3, 10)


def test_a_non_positive_promise_is_refused(client, rep, case, invoice):
    client.force_login(rep)

    response = client.post(
        reverse("dunning:promise_create", args=[case.customer_id]),
        {"invoices": [invoice.pk], "amount": "0", "promised_date": "2026-03-10"},
    )

    assert response.status_code == 400
    assert "must be positive" in response.content.decode()
    assert not PromiseToPay.objects.exists()


def test_a_dispute_on_another_customers_invoice_is_refused(client, rep, case):
    stranger = overdue_invoice(customer=CustomerFactory(), due=date(2026, 2, 1))
    client.force_login(rep)

    response = client.post(
        reverse("dunning:dispute_create", args=[case.customer_id]),
        {"invoices": [stranger.pk], "reason": "Broken"},
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Dispute.objects.exists()


def test_a_rep_cannot_open_forms_for_another_reps_customer(client, other_rep, case):
    client.force_login(other_rep)

    for name in ("promise_create", "dispute_create", "agreement_propose"):
        assert client.get(reverse(f"dunning:{name}", args=[case.customer_id])).status_code == 404


def test_rep_proposes_a_plan_and_a_wrong_sum_is_refused(client, rep, case, invoice):
    client.force_login(rep)
    url = reverse("dunning:agreement_propose", args=[case.customer_id])
    data = {
        "invoices": [invoice.pk],
        "kind": "instalment_plan",
        "reason": "Waiting for its own customer",
        "late_fee_rate_period": "day",
        "late_fee_grace_days": "0",
        "instalments-TOTAL_FORMS": "6",
        "instalments-INITIAL_FORMS": "0",
        "instalments-MIN_NUM_FORMS": "0",
        "instalments-MAX_NUM_FORMS": "24",
        "instalments-0-due_date": "2026-03-31",
        "instalments-0-amount": "2500.00",
        "instalments-1-due_date": "2026-04-30",
        "instalments-1-amount": "2000.00",
    }

    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "must sum to exactly" in refused.content.decode()
    assert not SupplementaryAgreement.objects.exists()

    data["instalments-1-amount"] = "2500.00"
    response = client.post(url, data)
    agreement = SupplementaryAgreement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dunning:agreement_detail", args=[agreement.pk])
    assert agreement.instalments.count() == 2


# --- Agreement approval (managers) -------------------------------------------


@pytest.fixture
def proposal(customer, invoice, rep):
    return agreement_propose(
        customer=customer,
        invoices=[invoice],
        kind="extension",
        instalments=[InstalmentInput(due_date=date(2026, 4, 1), amount=Decimal("5000.00"))],
        reason="Cash-flow",
        actor=rep,
        as_of=TODAY,
    )


def test_agreement_queue_is_for_managers(client, proposal, django_assert_max_num_queries):
    client.force_login(SalesRepFactory())
    assert client.get(reverse("dunning:agreement_queue")).status_code == 403
    client.force_login(FinanceUserFactory())
    assert client.get(reverse("dunning:agreement_queue")).status_code == 403

    for _ in range(4):
        customer = CustomerFactory()
        SupplementaryAgreementFactory(
            customer=customer,
            invoices=[overdue_invoice(customer=customer, due=date(2026, 2, 1))],
        )
    client.force_login(ManagerFactory())
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dunning:agreement_queue"))
    assert response.status_code == 200
    assert len(response.context["agreements"]) == 5
    assert proposal.number in response.content.decode()


def test_a_manager_approves_from_the_detail_page(client, proposal):
    manager = ManagerFactory()
    client.force_login(manager)

    page = client.get(reverse("dunning:agreement_detail", args=[proposal.pk]))
    assert page.context["may_decide"] is True

    response = client.post(
        reverse("dunning:agreement_approve", args=[proposal.pk]), {"comment": "OK"}
    )

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == SupplementaryAgreement.Status.APPROVED
    assert proposal.decided_by == manager


def test_the_proposer_cannot_approve_through_the_page(client, customer, invoice):
    manager = ManagerFactory()
    agreement = agreement_propose(
        customer=customer,
        invoices=[invoice],
        kind="extension",
        instalments=[InstalmentInput(due_date=date(2026, 4, 1), amount=Decimal("5000.00"))],
        reason="Cash-flow",
        actor=manager,
        as_of=TODAY,
    )
    client.force_login(manager)

    response = client.post(reverse("dunning:agreement_approve", args=[agreement.pk]), {})

    assert response.status_code == 400
    assert "another manager must decide" in response.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == SupplementaryAgreement.Status.PROPOSED


def test_a_rep_cannot_approve_their_own_customers_agreement(client, rep, proposal):
    client.force_login(rep)

    response = client.post(reverse("dunning:agreement_approve", args=[proposal.pk]), {})

    assert response.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == SupplementaryAgreement.Status.PROPOSED


def test_another_rep_gets_404_for_the_agreement(client, other_rep, proposal):
    client.force_login(other_rep)

    assert client.get(reverse("dunning:agreement_detail", args=[proposal.pk])).status_code == 404


# --- Letters (finance) -------------------------------------------------------


@pytest.fixture
def letter_waiting(customer):
    contract = ContractFactory(customer=customer)
    invoice = invoice_under_contract(
        contract=contract,
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        amount=Decimal("1000.00"),
    )
    communication = CommunicationFactory(customer=customer, business_date=TODAY)
    DunningStepFactory(invoice=invoice, communication=communication)
    return communication


def test_letter_queue_is_for_finance_within_a_query_bound(
    client, letter_waiting, django_assert_max_num_queries
):
    client.force_login(SalesRepFactory())
    assert client.get(reverse("dunning:letter_queue")).status_code == 403
    client.force_login(ManagerFactory())
    assert client.get(reverse("dunning:letter_queue")).status_code == 403

    for _ in range(5):
        CommunicationFactory()
    client.force_login(FinanceUserFactory())
    with django_assert_max_num_queries(10):
        response = client.get(reverse("dunning:letter_queue"))

    assert response.status_code == 200
    assert len(response.context["communications"]) == 6


def test_finance_previews_approves_and_the_letter_goes_out_with_the_next_send(
    client, letter_waiting
):
    finance = FinanceUserFactory()
    client.force_login(finance)

    preview = client.get(reverse("dunning:communication_preview", args=[letter_waiting.pk]))
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert preview.content.startswith(b"%PDF")

    response = client.post(reverse("dunning:communication_approve", args=[letter_waiting.pk]))
    assert response.status_code == 302
    letter_waiting.refresh_from_db()
    assert letter_waiting.status == Communication.Status.PENDING
    assert letter_waiting.approved_by == finance


def test_a_rep_cannot_preview_or_approve_a_letter(client, rep, letter_waiting):
    client.force_login(rep)

    assert (
        client.get(reverse("dunning:communication_preview", args=[letter_waiting.pk])).status_code
        == 403
    )
    assert (
        client.post(reverse("dunning:communication_approve", args=[letter_waiting.pk])).status_code
        == 403
    )
    letter_waiting.refresh_from_db()
    assert letter_waiting.status == Communication.Status.AWAITING_APPROVAL


def test_refusing_a_letter_needs_a_reason(client, letter_waiting):
    client.force_login(FinanceUserFactory())
    url = reverse("dunning:communication_reject", args=[letter_waiting.pk])

    assert client.post(url, {"reason": ""}).status_code == 400
    letter_waiting.refresh_from_db()
    assert letter_waiting.status == Communication.Status.AWAITING_APPROVAL

    assert client.post(url, {"reason": "Customer paid by phone"}).status_code == 302
    letter_waiting.refresh_from_db()
    assert letter_waiting.status == Communication.Status.CANCELLED


def test_the_stored_letter_downloads_for_its_rep_with_safe_headers(client, rep, stored_letter):
    client.force_login(rep)

    response = client.get(reverse("dunning:communication_pdf", args=[stored_letter.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert stored_letter.customer.code in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.7 stored letter"
    printable = client.get(
        reverse("dunning:communication_pdf", args=[stored_letter.pk]), {"inline": "1"}
    )
    assert printable["Content-Disposition"].startswith("inline")


def test_another_reps_letter_answers_404(client, other_rep, stored_letter):
    client.force_login(other_rep)

    assert (
        client.get(reverse("dunning:communication_pdf", args=[stored_letter.pk])).status_code == 404
    )
    assert (
        client.get(reverse("dunning:communication_detail", args=[stored_letter.pk])).status_code
        == 404
    )


def test_a_letter_not_yet_rendered_answers_404(client, rep, letter_waiting):
    client.force_login(rep)

    assert (
        client.get(reverse("dunning:communication_pdf", args=[letter_waiting.pk])).status_code
        == 404
    )


def test_the_letter_file_is_stored_under_a_random_name(stored_letter):
    name = stored_letter.letter_pdf.name
    assert name.startswith("letters/")
    assert stored_letter.customer.code not in name
    assert len(name.split("/")[-1]) >= 32


# --- Disputes (finance) ------------------------------------------------------


def test_finance_resolves_a_dispute_with_a_credit_note(client, customer, invoice):
    dispute = DisputeFactory(customer=customer, invoices=[invoice])
    client.force_login(SalesRepFactory())
    assert client.get(reverse("dunning:dispute_list")).status_code == 403
    finance = FinanceUserFactory()
    client.force_login(finance)
    assert client.get(reverse("dunning:dispute_list")).status_code == 200

    response = client.post(
        reverse("dunning:dispute_accept", args=[dispute.pk]),
        {
            "note": "Damaged goods confirmed",
            "credit_note_number": "CN-VIEW-1",
            f"credit_{invoice.pk}": "500.00",
        },
    )

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.VALID
    assert CreditNote.objects.get(number="CN-VIEW-1").amount == Decimal("500.00")


def test_a_rep_cannot_resolve_a_dispute(client, rep, customer, invoice):
    dispute = DisputeFactory(customer=customer, invoices=[invoice])
    client.force_login(rep)

    response = client.post(
        reverse("dunning:dispute_reject", args=[dispute.pk]), {"evidence": "Signed"}
    )

    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


# --- Pause (finance, managers) -----------------------------------------------


def test_finance_pauses_dunning_and_a_rep_may_not(client, rep, customer):
    client.force_login(rep)
    url = reverse("dunning:customer_pause", args=[customer.pk])
    assert client.post(url, {"until": "2026-03-09", "reason": "Audit"}).status_code == 403

    client.force_login(FinanceUserFactory())
    refused = client.post(url, {"until": "2026-03-01", "reason": "Audit"})
    assert refused.status_code == 400
    assert "today or later" in refused.content.decode()

    assert client.post(url, {"until": "2026-03-09", "reason": "Audit"}).status_code == 302
    customer.refresh_from_db()
    assert customer.dunning_paused_until == TODAY + timedelta(days=7)


# --- Navigation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "present", "absent"),
    [
        (SalesRepFactory, ["Collections"], ["Letters to approve", "Agreements to approve"]),
        (FinanceUserFactory, ["Collections", "Letters to approve"], ["Agreements to approve"]),
        (ManagerFactory, ["Collections", "Agreements to approve"], ["Letters to approve"]),
    ],
)
def test_navigation_offers_each_role_its_collection_pages(client, factory, present, absent):
    client.force_login(factory())

    labels = [
        str(label) for label, _url in client.get(reverse("dunning:case_list")).context["nav_items"]
    ]

    for label in present:
        assert label in labels
    for label in absent:
        assert label not in labels


def test_a_message_shows_its_email_as_a_preview_until_the_sender_stores_it(
    client, rep, customer, invoice, django_assert_max_num_queries
):
    from dunning.services.run import run_dunning
    from dunning.services.send import communications_send

    run_dunning(as_of=TODAY)
    reminder = Communication.objects.get(customer=customer, level="reminder")
    assert reminder.subject == ""
    client.force_login(rep)
    url = reverse("dunning:communication_detail", args=[reminder.pk])

    with django_assert_max_num_queries(25):
        preview = client.get(url)

    subject, body = preview.context["email"]
    assert preview.context["email_is_preview"] is True
    assert invoice.number in body
    assert "Preview: the email is rendered and stored" in preview.content.decode()

    communications_send()
    reminder.refresh_from_db()
    sent = client.get(url)
    assert reminder.status == Communication.Status.SENT
    assert sent.context["email"] == (subject, body) == (reminder.subject, reminder.body)
    assert sent.context["email_is_preview"] is False
    assert "Preview: the email is rendered and stored" not in sent.content.decode()


def test_a_message_that_never_went_out_shows_how_it_would_read(client, rep):
    from dunning.services.run import run_dunning

    silent = CustomerFactory(sales_rep=rep, language="en")  # no contact: no address
    invoice = overdue_invoice(customer=silent, due=date(2026, 2, 1), amount="700.00")
    run_dunning(as_of=TODAY)
    reminder = Communication.objects.get(customer=silent, level="reminder")
    assert reminder.failure_reason == Communication.FailureReason.MISSING_ADDRESS
    client.force_login(rep)

    page = client.get(reverse("dunning:communication_detail", args=[reminder.pk]))

    assert invoice.number in page.context["email"][1]
    assert "Never sent: the email as it would read today." in page.content.decode()
