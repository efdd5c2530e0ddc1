"""Demand letters: real PDFs in both languages, parsed back with pypdf."""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from pypdf import PdfReader

from core.events import formal_date_text
from dunning.letters import (
    DemandLetterError,
    demand_letter_pdf,
    demand_letter_render,
)
from dunning.models import DunningPolicy
from dunning.pdf import PdfRenderError, fast_subsetter_available, html_to_pdf
from dunning.policy import communication_letter_date
from receivables.models import Contact, Invoice
from receivables.services.payments import payment_record
from tests.factories.cases import (
    AgreementInstalmentFactory,
    CommunicationFactory,
    ContractFactory,
    DeliveryRecordFactory,
    DunningStepFactory,
    SupplementaryAgreementFactory,
    invoice_under_contract,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.invoices import InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_policy():
    """The migrated policy, recreated if a transactional test flushed it."""
    ensure_default_policy()


AS_OF = date(2026, 3, 2)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def embedded_fonts(pdf: bytes) -> list[str]:
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    return [str(font.get_object()["/BaseFont"]) for font in fonts.values()]


def flat(text: str) -> str:
    """Drop line breaks and spaces that the layout inserts inside table cells."""
    return "".join(text.split())


def long_date(value: date, language: str) -> str:
    with translation.override(language):
        return formal_date_text(value)


@pytest.fixture
def design_example():
    """DESIGN.md's late-fee example: 100,000.00 due 2026-01-31, 40,000.00 paid on 2026-02-10."""

    def build(*, language: str, customer_name: str):
        customer = CustomerFactory(
            name=customer_name,
            language=language,
            address="88 Century Avenue, Shanghai",
            registration_number="91310115MA1K000000",
        )
        ContactFactory(customer=customer, role=Contact.Role.FINANCE, name="Qian Hui")
        contract = ContractFactory(customer=customer, number="HT-2025-0042")
        invoice = invoice_under_contract(
            contract=contract,
            number="INV-2026-0007",
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
            amount=Decimal("100000.00"),
            delivery_method=Invoice.DeliveryMethod.COURIER,
            tracking_number="SF1234567890",
            delivered_at=datetime(2026, 1, 3, 10, 0, tzinfo=SHANGHAI),
        )
        DeliveryRecordFactory(
            contract=contract, occurred_on=date(2026, 1, 2), signer_name="Zhao Lei"
        )
        payment_record(
            customer=customer,
            payment_date=date(2026, 2, 10),
            amount=Decimal("40000.00"),
            currency=customer.currency,
            reference="BANK-1",
            actor=None,
            allocations=[(invoice, Decimal("40000.00"))],
        )
        invoice.refresh_from_db()
        return customer, invoice

    return build


def test_the_fast_font_subsetter_is_loaded():
    # Without libharfbuzz-subset0 WeasyPrint falls back to fontTools (20x slower).
    from weasyprint.text.ffi import harfbuzz_subset

    assert harfbuzz_subset is not None
    assert fast_subsetter_available() is True


def test_english_letter_states_every_element(design_example):
    # Given DESIGN.md's example invoice under a contract with a 0.05 %/day clause
    customer, invoice = design_example(language="en", customer_name="Northwind Traders Ltd")

    # When the demand letter is rendered as of 2026-03-02
    pdf = demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[invoice], reference="REF-1")

    # Then it is a real PDF whose text states every element of DESIGN.md
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    compact = flat(text)
    assert "Demand for payment" in text
    assert "Huikuan Demo Trading Co., Ltd." in text  # creditor (settings default)
    assert "Northwind Traders Ltd" in text  # debtor
    assert "91310115MA1K000000" in compact  # debtor registration number
    assert "HT-2025-0042" in text  # contract number
    assert "Payment type: Credit terms" in text  # payment clause
    assert "0.05 % per day" in text  # late-fee clause
    assert "INV-2026-0007" in text
    assert "100,000.00" in compact  # amount
    assert "60,000.00" in compact  # outstanding after the 40,000.00 payment
    assert "1,100.00" in compact  # late fee 10 x 50.00 + 20 x 30.00
    assert "61,100.00" in compact  # total demanded
    assert flat(long_date(date(2026, 1, 31), "en")) in compact  # due date
    assert flat(long_date(date(2026, 3, 9), "en")) in compact  # deadline = letter date + 7
    assert "6222 0000 1111 2222" in text  # payee account
    assert "Zhao Lei" in text  # proof of delivery: signer
    assert "SF1234567890" in text  # proof: invoice tracking number
    assert "Qian Hui" in text  # to the finance contact's attention


def test_english_letter_reports_days_overdue_in_the_item_row(design_example):
    customer, invoice = design_example(language="en", customer_name="Northwind Traders Ltd")

    text = pdf_text(demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[invoice]))

    row = flat(text).split("Milestone1:Paymentondelivery", 1)[1]
    # due date, then days overdue (30), amount, outstanding, late fee.
    due = flat(long_date(date(2026, 1, 31), "en"))
    assert row.startswith(due + "30" + "100,000.00" + "60,000.00" + "1,100.00")


def test_chinese_letter_renders_cjk_text_and_every_figure(design_example):
    # Given a Chinese-speaking customer with a Chinese name
    customer, invoice = design_example(language="zh-hans", customer_name="上海星河贸易有限公司")

    # When the letter is rendered
    pdf = demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[invoice])

    # Then the Chinese name survives the round trip (a CJK font is embedded) and
    # the figures, dates and account are there
    text = pdf_text(pdf)
    compact = flat(text)
    assert "上海星河贸易有限公司" in compact
    assert "HT-2025-0042" in text
    assert "INV-2026-0007" in text
    assert "1,100.00" in compact
    assert "61,100.00" in compact
    assert flat(long_date(date(2026, 3, 9), "zh-hans")) in compact
    assert flat(long_date(date(2026, 3, 9), "zh-hans")) == "2026年3月9日"
    assert "6222 0000 1111 2222" in text
    assert "Zhao Lei" in text
    assert any("WenQuanYi" in name for name in embedded_fonts(pdf))


def test_letter_without_contract_or_creditor_account_is_refused(settings):
    settings.CREDITOR_BANK_ACCOUNT = ""
    customer = CustomerFactory(language="en")
    invoice = InvoiceFactory(
        customer=customer,
        number="INV-LOOSE-1",
        contract_number="PAPER-77",
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        amount=Decimal("2000.00"),
    )

    with pytest.raises(DemandLetterError, match="payee bank account"):
        demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[invoice])


def test_letter_without_contract_takes_the_creditor_account_from_settings(settings):
    settings.CREDITOR_BANK_ACCOUNT = "9999 8888 7777"
    settings.CREDITOR_BANK_NAME = "Settings Bank"
    customer = CustomerFactory(language="en")
    invoice = InvoiceFactory(
        customer=customer,
        number="INV-LOOSE-2",
        contract_number="PAPER-77",
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        amount=Decimal("2000.00"),
    )

    text = pdf_text(demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[invoice]))

    assert "PAPER-77" in text
    assert "Our standard terms" in text
    assert "9999 8888 7777" in text
    assert "No proof of delivery on file" in text
    # 30 days x 0.05 % x 2,000.00 = 30.00
    assert "30.00" in flat(text)
    assert "2,030.00" in flat(text)


def test_refuses_items_in_two_currencies():
    customer = CustomerFactory(currency="CNY")
    first = InvoiceFactory(customer=customer, currency="CNY", due_date=date(2026, 1, 31))
    second = InvoiceFactory(customer=customer, currency="USD", due_date=date(2026, 1, 31))

    with pytest.raises(DemandLetterError, match="one currency"):
        demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[first, second])


def test_refuses_a_letter_when_nothing_is_overdue(design_example):
    customer, invoice = design_example(language="en", customer_name="Northwind")

    with pytest.raises(DemandLetterError, match="Nothing is overdue"):
        demand_letter_pdf(customer=customer, as_of=date(2026, 1, 31), invoices=[invoice])


def test_refuses_another_customers_invoice(design_example):
    customer, _ = design_example(language="en", customer_name="Northwind")
    stranger = InvoiceFactory(due_date=date(2026, 1, 31))

    with pytest.raises(DemandLetterError, match="belong to its customer"):
        demand_letter_pdf(customer=customer, as_of=AS_OF, invoices=[stranger])


def test_missing_template_is_a_clear_error(design_example):
    customer, invoice = design_example(language="en", customer_name="Northwind")

    with pytest.raises(DemandLetterError, match="does not exist"):
        demand_letter_pdf(
            customer=customer,
            as_of=AS_OF,
            invoices=[invoice],
            template_name="dunning/letters/nope.html",
        )


def test_pdf_module_refuses_empty_documents_and_external_resources():
    with pytest.raises(PdfRenderError, match="empty"):
        html_to_pdf("   ")
    assert "hello" in pdf_text(html_to_pdf("<p>hello</p>"))
    # A document that reaches for the network or the disk is refused, not half-rendered.
    with pytest.raises(PdfRenderError, match="Error fetching"):
        html_to_pdf('<p>hello</p><img src="http://127.0.0.1:9/x.png">')
    with pytest.raises(PdfRenderError, match="Error fetching"):
        html_to_pdf('<p>hello</p><img src="file:///etc/hostname">')


def test_render_for_a_communication_uses_its_steps_policy_deadline_and_language(design_example):
    # Given a communication carrying the invoice, and a policy deadline of 10 days
    DunningPolicy.objects.filter(is_active=True).update(letter_deadline_days=10)
    customer, invoice = design_example(language="en", customer_name="Northwind Traders Ltd")
    communication = CommunicationFactory(customer=customer, business_date=AS_OF)
    DunningStepFactory(invoice=invoice, communication=communication)
    left_out = InvoiceFactory(customer=customer, number="INV-LEFT-OUT", due_date=date(2026, 1, 31))
    DunningStepFactory(invoice=left_out, communication=communication, excluded_reason="disputed")

    # When the sender renders it
    text = pdf_text(demand_letter_render(communication=communication))

    # Then the letter lists the included step, with the policy's deadline
    assert "INV-2026-0007" in text
    assert "INV-LEFT-OUT" not in text
    assert flat(long_date(date(2026, 3, 12), "en")) in flat(text)
    assert f"{customer.code}-20260302-{communication.pk}" in flat(text)


def test_a_letter_approved_later_is_dated_the_day_it_goes_out(design_example):
    # Given a letter of the 2026-03-02 run that finance approved two days later
    customer, invoice = design_example(language="en", customer_name="Northwind")
    communication = CommunicationFactory(
        customer=customer,
        business_date=AS_OF,
        approved_at=datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI),
    )
    DunningStepFactory(invoice=invoice, communication=communication)

    # Then the letter is dated on the approval day: fee to 03-04, deadline 7 days later
    assert communication_letter_date(communication=communication) == date(2026, 3, 4)
    text = flat(pdf_text(demand_letter_render(communication=communication)))
    assert "1,160.00" in text  # 1,100.00 to 03-02 and two more days at 30.00
    assert flat(long_date(date(2026, 3, 11), "en")) in text


def test_render_of_a_communication_without_items_fails_clearly():
    communication = CommunicationFactory()

    with pytest.raises(DemandLetterError, match="no items"):
        demand_letter_render(communication=communication)


def test_letter_for_an_overdue_instalment_of_an_agreement():
    # Given an approved plan replacing a 3,000.00 invoice with two instalments
    customer = CustomerFactory(language="en")
    contract = ContractFactory(customer=customer, number="HT-PLAN-1")
    invoice = invoice_under_contract(
        contract=contract,
        number="INV-PLAN-1",
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 15),
        amount=Decimal("3000.00"),
    )
    agreement = SupplementaryAgreementFactory(
        customer=customer,
        contract=contract,
        number="SA-PLAN-1",
        status="approved",
        invoices=[invoice],
        late_fee_rate_percent=Decimal("0.10"),
    )
    first = AgreementInstalmentFactory(
        agreement=agreement, sequence=1, due_date=date(2026, 2, 20), amount=Decimal("1000.00")
    )
    AgreementInstalmentFactory(
        agreement=agreement, sequence=2, due_date=date(2026, 4, 20), amount=Decimal("2000.00")
    )

    # When the first instalment is 10 days overdue
    text = pdf_text(
        demand_letter_pdf(customer=customer, as_of=date(2026, 3, 2), instalments=[first])
    )

    # Then the letter names it INVOICE#1 under the agreement's own terms
    compact = flat(text)
    assert "INV-PLAN-1#1" in text
    assert "SA-PLAN-1" in text
    assert "HT-PLAN-1" in text
    assert "0.1 % per day" in text
    assert "1,000.00" in compact
    # 10 days x 0.10 % x 1,000.00 = 10.00; total 1,010.00
    assert "1,010.00" in compact


def test_the_sender_records_a_render_failure_with_its_reason(settings):
    # Given an approved letter for an invoice without contract and no creditor account
    settings.CREDITOR_BANK_ACCOUNT = ""
    from dunning.models import Communication
    from dunning.services.send import communications_send

    customer = CustomerFactory(language="en")
    invoice = InvoiceFactory(customer=customer, due_date=date(2026, 1, 31))
    communication = CommunicationFactory(
        customer=customer,
        status=Communication.Status.PENDING,
        recipient_email="ap@example.com",
    )
    DunningStepFactory(invoice=invoice, communication=communication)

    # When the sender tries to send it
    communications_send(ids=[communication.pk])

    # Then it failed as a render error, saying why, and no file was stored
    communication.refresh_from_db()
    assert communication.status == Communication.Status.FAILED
    assert communication.failure_reason == Communication.FailureReason.RENDER_ERROR
    assert "payee bank account" in communication.failure_detail
    assert not communication.letter_pdf


def test_the_sender_stores_the_letter_under_a_random_name_and_attaches_it(design_example):
    from django.core import mail

    from dunning.models import Communication
    from dunning.services.send import communications_send

    customer, invoice = design_example(language="zh-hans", customer_name="上海星河贸易有限公司")
    communication = CommunicationFactory(
        customer=customer,
        status=Communication.Status.PENDING,
        business_date=AS_OF,
        recipient_email="cw@xinghe.example",
    )
    DunningStepFactory(invoice=invoice, communication=communication)

    communications_send(ids=[communication.pk])

    communication.refresh_from_db()
    assert communication.status == Communication.Status.SENT
    assert communication.letter_pdf.name.startswith("letters/")
    assert customer.code not in communication.letter_pdf.name
    with communication.letter_pdf.open("rb") as stored:
        assert "61,100.00" in flat(pdf_text(stored.read()))
    [message] = mail.outbox
    [(filename, content, mimetype)] = message.attachments
    assert filename.endswith(".pdf")
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
