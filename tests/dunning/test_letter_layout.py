"""The demand letter as a lawyer would sign it: one page, one language, Chinese typesetting,
dated the day it goes out, and the stored PDF is what every later view shows."""

import io
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from core.exceptions import BusinessRuleError
from dunning.letters import demand_letter_pdf, demand_letter_render
from dunning.models import Communication, DunningPolicy
from dunning.policy import communication_letter_date, communication_letter_deadline
from dunning.services.communications import communication_approve
from dunning.typography import chinese_text
from receivables.models import Contact, Invoice
from tests.factories.cases import (
    CommunicationFactory,
    ContractFactory,
    DeliveryRecordFactory,
    DunningStepFactory,
    invoice_under_contract,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.dunning import ensure_default_policy
from tests.factories.users import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
RUN_DATE = date(2026, 11, 27)
APPROVED_ON = date(2026, 11, 30)
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture(autouse=True)
def _default_policy():
    ensure_default_policy()


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def chinese_customer(*, items: int = 1):
    customer = CustomerFactory(
        name="上海星河科技有限公司",
        language="zh-hans",
        address="上海市浦东新区世纪大道88号",
        registration_number="91310115MA1K000000",
    )
    ContactFactory(customer=customer, role=Contact.Role.FINANCE, name="钱慧")
    contract = ContractFactory(
        customer=customer,
        number="HT-2026-0042",
        title="设备供货",
        payee_account_name="",
        payee_bank_name="",
        payee_bank_account="",
        dispute_resolution_clause="协商不成的，提交上海国际仲裁中心仲裁。",
    )
    invoices = [
        invoice_under_contract(
            contract=contract,
            number=f"INV-2026-{index:04d}",
            issue_date=date(2026, 9, 1),
            due_date=date(2026, 10, index),
            amount=Decimal("36000.00"),
            delivery_method=Invoice.DeliveryMethod.COURIER,
            tracking_number=f"SF12345678{index:02d}",
            delivered_at=datetime(2026, 9, 3, 10, 0, tzinfo=SHANGHAI),
        )
        for index in range(1, items + 1)
    ]
    contract.milestones.update(description="到货款")
    invoices = list(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).order_by("number"))
    DeliveryRecordFactory(contract=contract, occurred_on=date(2026, 9, 2), signer_name="赵磊")
    return customer, invoices


def test_chinese_typesetting_of_catalogue_sentences():
    assert chinese_text("1. 首付款: 30 % (签订 后 10 天)") == "1.首付款：30%（签订后10天）"
    assert chinese_text("按逾期金额每日 0.05 %, 以逾期金额的 20 % 为上限.") == (
        "按逾期金额每日0.05%，以逾期金额的20%为上限。"
    )
    assert chinese_text("CNY 36,000.00") == "CNY 36,000.00"
    assert chinese_text("A & B 公司;测试") == "A & B公司；测试"


@pytest.mark.parametrize("items", [1, 3])
def test_a_chinese_letter_is_one_page_in_chinese_only(items):
    # Given a Chinese customer with overdue invoices under a contract naming no payee account
    customer, invoices = chinese_customer(items=items)

    # When the letter is rendered
    pdf = demand_letter_pdf(customer=customer, as_of=APPROVED_ON, invoices=invoices)

    # Then it fits on one page
    text = pages(pdf)
    assert len(text) == 1
    page = text[0]
    # in Chinese only: the creditor's Chinese name, address and bank, no English words
    assert "回款示范贸易有限公司" in page
    assert "上海市浦东新区示范路1号" in page
    assert "示范银行上海分行" in page
    assert "Huikuan Demo" not in page
    assert "Bank" not in page
    words = set(LATIN_WORD.findall(page)) - {"INV", "CNY", "SF"}
    assert not words, words
    # with full-width punctuation beside Chinese text and no stray spaces around numbers
    assert all(mark in page for mark in "：，（）")
    assert not re.search(r"[\u4e00-\u9fff][,:;()]|[,:;()][\u4e00-\u9fff]", page)
    prose = [line for line in page.splitlines() if "。" in line or "：" in line]
    assert not [line for line in prose if re.search(r"[\u4e00-\u9fff] \d|\d [\u4e00-\u9fff]", line)]
    assert "交货后30天" in page
    assert "每日0.05%。" in page
    assert "本函日期起7天内" in page
    # and the closing as Chinese letters set it: 此致 and 敬礼 each on a line of its own
    lines = [line.strip() for line in page.splitlines()]
    assert "此致" in lines
    assert "敬礼！" in lines
    assert lines.index("敬礼！") == lines.index("此致") + 1
    # dated the day it goes out, with the policy's seven days to pay
    assert "2026年11月30日" in page
    assert "2026年12月7日" in page


def test_an_english_letter_is_one_page_in_english_only():
    customer, invoices = chinese_customer(items=2)
    customer.language = "en"
    customer.name = "Star River Technology Ltd"
    customer.address = "88 Century Avenue, Shanghai"
    customer.save()

    pdf = demand_letter_pdf(customer=customer, as_of=APPROVED_ON, invoices=invoices)

    text = pages(pdf)
    assert len(text) == 1
    assert "Huikuan Demo Trading Co., Ltd." in text[0]
    assert "Demo Bank, Shanghai Branch" in text[0]
    assert "回款示范" not in text[0]
    assert "Yours faithfully," in text[0]


def _letter_awaiting_approval(customer, invoices):
    communication = CommunicationFactory(
        customer=customer,
        business_date=RUN_DATE,
        language="zh-hans",
        recipient_email="qian@example.com",
    )
    for invoice in invoices:
        DunningStepFactory(invoice=invoice, communication=communication, fired_on=RUN_DATE)
    return communication


def test_a_letter_approved_days_after_its_run_is_dated_and_stored_on_approval(client):
    # Given a letter of the 11-27 run, approved by finance on 11-30
    customer, invoices = chinese_customer(items=1)
    communication = _letter_awaiting_approval(customer, invoices)
    finance = UserFactory(role="finance")
    assert communication_letter_date(communication=communication) == RUN_DATE

    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), tick=False):
        communication_approve(communication=communication, actor=finance)

        # Then the letter is re-dated to the approval day: the customer gets the full 7 days
        communication.refresh_from_db()
        assert communication_letter_date(communication=communication) == APPROVED_ON
        assert communication_letter_deadline(communication=communication) == date(2026, 12, 7)
        # the email says the same deadline
        assert "2026-12-07" in communication.body
        # and the PDF is stored in the approval's transaction
        assert communication.letter_pdf
        stored = communication.letter_pdf.read()
        communication.letter_pdf.close()
        page = pages(stored)
        assert len(page) == 1
        assert "2026年11月30日" in page[0]
        assert "2026年12月7日" in page[0]

        # and preview and download answer the stored bytes, not a new rendering
        client.force_login(finance)
        preview = client.get(reverse("dunning:communication_preview", args=[communication.pk]))
        download = client.get(reverse("dunning:communication_pdf", args=[communication.pk]))
    assert preview.status_code == 200
    assert body(preview) == stored
    assert body(download) == stored


def test_a_sent_letter_keeps_its_bytes_when_the_data_changes(client):
    customer, invoices = chinese_customer(items=1)
    communication = _letter_awaiting_approval(customer, invoices)
    finance = UserFactory(role="finance")
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), tick=False):
        communication_approve(communication=communication, actor=finance)
    communication.refresh_from_db()
    stored = communication.letter_pdf.read()
    communication.letter_pdf.close()
    Communication.objects.filter(pk=communication.pk).update(status=Communication.Status.SENT)

    # When the customer's name and the policy change afterwards
    customer.name = "改名后的公司"
    customer.save()
    DunningPolicy.objects.filter(is_active=True).update(letter_deadline_days=30)

    # Then the preview still shows what went out, byte for byte
    client.force_login(finance)
    preview = client.get(reverse("dunning:communication_preview", args=[communication.pk]))
    shown = body(preview)
    assert shown == stored
    assert "改名后的公司" not in pages(shown)[0]


def test_a_pending_letter_without_approval_is_stored_when_first_downloaded(client):
    # Given a letter level without approval, not yet claimed by the send sweep
    customer, invoices = chinese_customer(items=1)
    communication = _letter_awaiting_approval(customer, invoices)
    Communication.objects.filter(pk=communication.pk).update(status=Communication.Status.PENDING)
    rep = customer.sales_rep

    # When the rep asks for letter.pdf before the sweep
    client.force_login(rep)
    response = client.get(reverse("dunning:communication_pdf", args=[communication.pk]))

    # Then the letter is stored and served, dated on its run's business date
    assert response.status_code == 200
    pdf = body(response)
    communication.refresh_from_db()
    assert communication.letter_pdf
    assert "2026年11月27日" in pages(pdf)[0]
    # and the sender attaches the same bytes later (the stored letter is never re-rendered)
    assert demand_letter_render(communication=communication)[:4] == b"%PDF"


def test_approval_is_refused_with_the_reason_when_the_letter_cannot_be_made(settings):
    # Given a letter whose items name no payee account, and no account in settings
    settings.CREDITOR_BANK_ACCOUNT = ""
    customer, invoices = chinese_customer(items=1)
    communication = _letter_awaiting_approval(customer, invoices)

    # When finance approves it, the approval is refused and nothing changes
    with pytest.raises(BusinessRuleError, match="payee bank account"):
        communication_approve(communication=communication, actor=UserFactory(role="finance"))
    communication.refresh_from_db()
    assert communication.status == Communication.Status.AWAITING_APPROVAL
    assert not communication.letter_pdf
