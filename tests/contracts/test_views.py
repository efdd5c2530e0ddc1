from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts.models import Contract, DeliveryRecord
from contracts.services import (
    contract_create,
    contract_submit_for_review,
    delivery_record_create,
    milestone_invoice_issue,
)
from receivables.models import Customer, Invoice
from tests.contracts.conftest import SIGNED, TODAY, contract_data
from tests.factories.contracts import (
    PDF_BYTES,
    ContractFactory,
    PaymentMilestoneFactory,
    milestones_30_60_10,
    pdf_upload,
)
from tests.factories.customers import CustomerFactory
from tests.factories.users import (
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _form_post(customer, **overrides) -> dict:
    data = {
        "number": "HT-WEB-1",
        "customer": customer.pk,
        "title": "Conveyor",
        "amount": "250000.00",
        "currency": "CNY",
        "payment_type": Contract.PaymentType.INSTALMENTS,
        "credit_terms_days": "30",
        "payee_account_name": "Huikuan Demo Trading Co., Ltd.",
        "payee_bank_name": "Bank of China",
        "payee_bank_account": "4567 8901",
        "late_fee_rate_percent": "0.05",
        "late_fee_rate_period": "day",
        "late_fee_grace_days": "0",
        "late_fee_cap_percent": "",
        "dispute_resolution_clause": "Courts of Shanghai.",
        "milestones-TOTAL_FORMS": "4",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "1000",
    }
    rows = [("Advance", "30", "signing", "10"), ("Delivery", "60", "delivery", "30")]
    rows.append(("Acceptance", "10", "acceptance", "15"))
    for index, (description, percent, trigger, offset) in enumerate(rows):
        data[f"milestones-{index}-description"] = description
        data[f"milestones-{index}-percent"] = percent
        data[f"milestones-{index}-trigger"] = trigger
        data[f"milestones-{index}-offset_days"] = offset
    # The fourth row is left blank, as a user leaves unused rows.
    data["milestones-3-offset_days"] = "0"
    data.update(overrides)
    return data


# --- List and scoping ---------------------------------------------------------------


def test_contract_list_shows_a_rep_only_their_own(client, rep, customer):
    own = ContractFactory(customer=customer, number="HT-OWN")
    ContractFactory(number="HT-OTHER")
    client.force_login(rep)

    response = client.get(reverse("contracts:contract_list"))

    assert response.status_code == 200
    assert list(response.context["contracts"]) == [own]
    assert "HT-OTHER" not in response.content.decode()


def test_contract_list_queries_are_bounded(client, finance, django_assert_max_num_queries):
    for _ in range(15):
        contract = ContractFactory()
        PaymentMilestoneFactory(contract=contract, sequence=1)
    client.force_login(finance)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("contracts:contract_list"))

    assert len(response.context["contracts"]) == 15


def test_contract_list_filters_by_status_and_text(client, finance):
    ContractFactory(number="HT-A", status=Contract.Status.ACTIVE)
    ContractFactory(number="HT-B", title="Boilers")
    client.force_login(finance)

    active = client.get(reverse("contracts:contract_list"), {"status": "active"})
    boilers = client.get(reverse("contracts:contract_list"), {"q": "boil"})

    assert [c.number for c in active.context["contracts"]] == ["HT-A"]
    assert [c.number for c in boilers.context["contracts"]] == ["HT-B"]


def test_another_reps_contract_answers_404_everywhere(client, active, finance):
    record = delivery_record_create(
        contract=active,
        kind=DeliveryRecord.Kind.DELIVERY,
        occurred_on=TODAY,
        signer_name="Zhao Lei",
        proof=pdf_upload(),
        actor=finance,
        as_of=TODAY,
    )[0]
    milestone = active.milestones.first()
    client.force_login(SalesRepFactory())

    urls = [
        reverse("contracts:contract_detail", args=[active.pk]),
        reverse("contracts:contract_update", args=[active.pk]),
        reverse("contracts:delivery_record_create", args=[active.pk]),
        reverse("contracts:delivery_record_proof", args=[record.pk]),
        reverse("contracts:milestone_invoice_issue", args=[milestone.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for name in ("contract_submit", "contract_review", "contract_activate", "contract_close"):
        url = reverse(f"contracts:{name}", args=[active.pk])
        assert client.post(url).status_code == 404, url
    trigger_url = reverse("contracts:milestone_trigger", args=[milestone.pk])
    assert client.post(trigger_url).status_code == 404


def test_detail_shows_milestones_with_amounts_and_actions(client, approved, finance):
    client.force_login(finance)

    response = client.get(reverse("contracts:contract_detail", args=[approved.pk]))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.amount for row in rows] == [
        Decimal("30000.00"),
        Decimal("60000.00"),
        Decimal("10000.00"),
    ]
    assert response.context["can_activate"]
    assert not response.context["can_edit"]
    html = response.content.decode()
    assert "30,000.00" in html
    assert reverse("contracts:contract_activate", args=[approved.pk]) in html


def test_detail_queries_are_bounded(client, active, finance, django_assert_max_num_queries):
    client.force_login(finance)

    with django_assert_max_num_queries(14):
        client.get(reverse("contracts:contract_detail", args=[active.pk]))


def test_manager_sees_but_may_not_act(client, in_review):
    client.force_login(ManagerFactory())

    detail = client.get(reverse("contracts:contract_detail", args=[in_review.pk]))
    review = client.post(
        reverse("contracts:contract_review", args=[in_review.pk]), {"decision": "approve"}
    )

    assert detail.status_code == 200
    assert not detail.context["can_review"]
    assert review.status_code == 403
    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.IN_REVIEW


def test_finance_drafter_is_told_another_finance_user_reviews(client, customer, finance):
    contract = contract_create(
        actor=finance, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )
    contract_submit_for_review(contract=contract, actor=finance)
    client.force_login(finance)

    detail = client.get(reverse("contracts:contract_detail", args=[contract.pk]))
    review = client.post(
        reverse("contracts:contract_review", args=[contract.pk]), {"decision": "approve"}
    )

    assert not detail.context["can_review"]
    assert 'id="review-by-another"' in detail.content.decode()
    assert review.status_code == 400
    contract.refresh_from_db()
    assert contract.status == Contract.Status.IN_REVIEW
    client.force_login(FinanceUserFactory())
    assert client.get(contract.get_absolute_url()).context["can_review"]


def test_rep_may_not_review_or_activate_own_contract(client, in_review, rep):
    client.force_login(rep)

    review = client.post(
        reverse("contracts:contract_review", args=[in_review.pk]), {"decision": "approve"}
    )

    assert review.status_code == 403
    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.IN_REVIEW


# --- Drafting through the form ---------------------------------------------------------


def test_rep_drafts_a_contract_with_three_milestones(client, rep, customer):
    client.force_login(rep)

    response = client.post(reverse("contracts:contract_create"), _form_post(customer))

    contract = Contract.objects.get(number="HT-WEB-1")
    assert response.status_code == 302
    assert response.url == contract.get_absolute_url()
    assert list(contract.milestones.values_list("percent", flat=True)) == [
        Decimal("30.00"),
        Decimal("60.00"),
        Decimal("10.00"),
    ]
    assert contract.created_by == rep


def test_rep_may_not_draft_for_another_reps_customer(client, rep):
    stranger = CustomerFactory()
    client.force_login(rep)

    response = client.post(reverse("contracts:contract_create"), _form_post(stranger))

    assert response.status_code == 200
    assert "customer" in response.context["form"].errors
    assert not Contract.objects.exists()


def test_percent_sum_other_than_100_shows_a_message_and_writes_nothing(client, rep, customer):
    client.force_login(rep)

    response = client.post(
        reverse("contracts:contract_create"),
        _form_post(customer, **{"milestones-2-percent": "5"}),
    )

    assert response.status_code == 200
    assert "95.00 %" in response.context["formset_error"]
    assert "95.00 %" in response.content.decode()
    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "greater than zero"),
        ("amount", "-100", "greater than zero"),
        ("currency", "XYZ", "Unknown currency"),
    ],
)
def test_bad_contract_fields_show_a_message(client, rep, customer, field, value, message):
    client.force_login(rep)

    response = client.post(
        reverse("contracts:contract_create"), _form_post(customer, **{field: value})
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Contract.objects.exists()


def test_no_late_fee_box_records_an_explicit_zero(client, rep, customer):
    client.force_login(rep)

    client.post(
        reverse("contracts:contract_create"),
        _form_post(customer, late_fee_rate_percent="", no_late_fee="on"),
    )

    assert Contract.objects.get().late_fee_rate_percent == Decimal("0")


def test_edit_form_changes_a_draft(client, draft, rep):
    client.force_login(rep)
    url = reverse("contracts:contract_update", args=[draft.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["formset"].initial_form_count() == 3

    data = _form_post(
        draft.customer,
        number=draft.number,
        title="Edited",
        **{
            "milestones-INITIAL_FORMS": "3",
            "milestones-2-DELETE": "on",
            "milestones-1-percent": "70",
        },
    )
    response = client.post(url, data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Edited"
    assert list(draft.milestones.values_list("percent", flat=True)) == [
        Decimal("30.00"),
        Decimal("70.00"),
    ]


def test_edit_of_a_submitted_contract_redirects_with_a_message(client, in_review, rep):
    client.force_login(rep)

    response = client.get(reverse("contracts:contract_update", args=[in_review.pk]), follow=True)

    assert "Only a draft can be changed" in response.content.decode()


# --- Workflow through the pages -----------------------------------------------------------


def test_workflow_through_the_pages(client, draft, rep, finance):
    client.force_login(rep)
    client.post(reverse("contracts:contract_submit", args=[draft.pk]))
    client.force_login(finance)
    client.post(
        reverse("contracts:contract_review", args=[draft.pk]),
        {"decision": "approve", "comment": "Clauses checked."},
    )
    with time_machine.travel(TODAY, tick=False):
        client.post(
            reverse("contracts:contract_activate", args=[draft.pk]),
            {"signed_date": SIGNED.isoformat()},
        )

    draft.refresh_from_db()
    assert draft.status == Contract.Status.ACTIVE
    assert draft.reviewed_by == finance
    assert draft.signed_date == SIGNED


def test_return_without_comment_shows_the_refusal(client, in_review, finance):
    client.force_login(finance)

    response = client.post(
        reverse("contracts:contract_review", args=[in_review.pk]),
        {"decision": "return", "comment": ""},
        follow=True,
    )

    assert "Say what must change" in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == Contract.Status.IN_REVIEW


# --- Proof upload and download ----------------------------------------------------------------


def test_delivery_upload_and_protected_download(client, active, rep, settings):
    client.force_login(rep)
    url = reverse("contracts:delivery_record_create", args=[active.pk])

    with time_machine.travel(TODAY, tick=False):
        response = client.post(
            url,
            {
                "kind": "delivery",
                "occurred_on": TODAY.isoformat(),
                "signer_name": "Zhao Lei",
                "proof": pdf_upload("signed note.pdf"),
            },
        )

    assert response.status_code == 302
    record = DeliveryRecord.objects.get()
    assert active.milestones.get(sequence=2).due_date == TODAY + timedelta(days=30)
    download = client.get(reverse("contracts:delivery_record_proof", args=[record.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")
    assert "signed note.pdf" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF_BYTES
    # Media is not served under a public URL.
    assert client.get(f"/{settings.MEDIA_URL}{record.proof.name}").status_code == 404


def test_fake_pdf_upload_shows_the_refusal_and_stores_nothing(client, active, finance):
    client.force_login(finance)

    with time_machine.travel(TODAY, tick=False):
        response = client.post(
            reverse("contracts:delivery_record_create", args=[active.pk]),
            {
                "kind": "delivery",
                "occurred_on": TODAY.isoformat(),
                "signer_name": "Zhao Lei",
                "proof": pdf_upload("evil.pdf", content=b"<html>not a pdf</html>"),
            },
        )

    assert response.status_code == 200
    assert "PDF, PNG or JPEG" in " ".join(response.context["form"].errors["proof"])
    assert not DeliveryRecord.objects.exists()


def test_manager_may_not_record_deliveries(client, active):
    client.force_login(ManagerFactory())

    response = client.get(reverse("contracts:delivery_record_create", args=[active.pk]))

    assert response.status_code == 403


# --- Issuing the milestone invoice ----------------------------------------------------------------


def test_finance_issues_the_milestone_invoice_from_the_page(client, active, finance):
    milestone = active.milestones.get(sequence=1)
    client.force_login(finance)
    url = reverse("contracts:milestone_invoice_issue", args=[milestone.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert page.context["amount"] == Decimal("30000.00")
    response = client.post(url, {"number": "INV-WEB-1", "issue_date": SIGNED.isoformat()})

    assert response.status_code == 302
    invoice = Invoice.objects.get(number="INV-WEB-1")
    assert invoice.milestone == milestone
    again = client.post(url, {"number": "INV-WEB-2", "issue_date": SIGNED.isoformat()})
    assert again.status_code == 200
    assert "already has invoice INV-WEB-1" in again.content.decode()
    assert Invoice.objects.count() == 1


def test_rep_may_not_issue_invoices(client, active, rep):
    client.force_login(rep)

    response = client.get(
        reverse("contracts:milestone_invoice_issue", args=[active.milestones.first().pk])
    )

    assert response.status_code == 403


def test_contracts_appear_in_the_navigation(client, rep):
    client.force_login(rep)

    response = client.get(reverse("receivables:customer_list"))

    assert ("Contracts", reverse("contracts:contract_list")) in [
        (str(label), url) for label, url in response.context["nav_items"]
    ]


def test_detail_shows_the_milestone_invoice_and_its_delivery_state(client, active, finance):
    invoice = milestone_invoice_issue(
        milestone=active.milestones.get(sequence=1),
        number="INV-SHOWN",
        issue_date=SIGNED,
        actor=finance,
    )
    client.force_login(finance)

    html = client.get(reverse("contracts:contract_detail", args=[active.pk])).content.decode()

    assert f'href="{invoice.get_absolute_url()}"' in html
    assert "INV-SHOWN" in html
    assert "not delivered" in html
    assert "receipt not confirmed" in html


def test_admin_shows_contracts_read_only(client, active):
    admin_user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:contracts_contract_changelist"))
    page = client.get(reverse("admin:contracts_contract_change", args=[active.pk]))
    post = client.post(reverse("admin:contracts_contract_change", args=[active.pk]), {})

    assert changelist.status_code == 200
    assert page.status_code == 200
    assert active.number in page.content.decode()
    assert post.status_code == 403
    assert client.get(reverse("admin:contracts_contract_add")).status_code == 403


def test_the_review_comment_survives_a_refused_credit_check(client, customer, rep):
    # Given a contract in review above the customer's limit
    contract = contract_create(
        actor=rep, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )
    contract_submit_for_review(contract=contract, actor=rep)
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("1000.00"))
    client.force_login(FinanceUserFactory())

    # When finance approves it with a comment but no override reason
    response = client.post(
        reverse("contracts:contract_review", args=[contract.pk]),
        {"decision": "approve", "comment": "Checked the payment clauses line by line."},
    )

    # Then the refusal is shown with the comment still in the form
    assert response.status_code == 400
    page = response.content.decode()
    assert "Credit limit exceeded" in page
    assert "Checked the payment clauses line by line." in page
    contract.refresh_from_db()
    assert contract.status == Contract.Status.IN_REVIEW
