"""Each statement format, read through `statement_parse`, and its refusals."""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from banking.models import ColumnProfile
from banking.parsers import statement_parse

pytestmark = pytest.mark.django_db

ICBC_CSV = (
    "中国工商银行 账户明细\n"
    "账号\uff1a6222000011112222\n"
    "交易日期,交易流水号,对方户名,对方账号,借方发生额,贷方发生额,余额,摘要,用途\n"
    '2026-02-27,ICBC0001,华南贸易\uff08深圳\uff09有限公司,6217000011110000,,"¥12,500.00",99999.00,货款,HN-77\n'
    "2026-02-27,ICBC0002,我司,6222000011112222,300.00,,99699.00,手续费,\n"
    "2026-02-28,ICBC0003,上海某某,6217000099990000,,88.50,99787.50,往来款,\n"
    "合计,,,,300.00,12588.50,,,\n"
)


def test_icbc_csv_in_gb18030_through_the_auto_profile(account):
    parsed = statement_parse(data=ICBC_CSV.encode("gb18030"), account=account)
    assert parsed.errors == []
    assert parsed.file_format == "icbc"
    assert [row.transaction_id for row in parsed.rows] == ["ICBC0001", "ICBC0003"]
    first = parsed.rows[0]
    assert first.line == 4
    assert first.amount == Decimal("12500.00")
    assert first.date == date(2026, 2, 27)
    assert first.payer_account == "6217000011110000"
    assert first.memo == "货款 HN-77"
    assert parsed.ignored == 1


def test_named_profile_that_does_not_fit_is_refused(account):
    parsed = statement_parse(data=ICBC_CSV.encode("utf-8"), account=account, profile="cmb")
    assert len(parsed.errors) == 1
    assert str(parsed.errors[0]).startswith(
        "line 1: the file does not have the columns of profile cmb"
    )
    assert parsed.rows == []


def test_wrong_encoding_is_refused_with_its_line(account):
    data = (
        "transaction_id,date,amount,currency,payer_name,payer_account,memo\nA,2026-02-01,1.00,CNY,Müller,,\n".encode(
            "big5", errors="ignore"
        )
        + "B,2026-02-01,1.00,CNY,臺灣公司,,\n".encode("big5")
    )
    parsed = statement_parse(data=data, account=account)
    assert parsed.errors
    assert parsed.errors[0].line == 3
    assert "which is not read here" in parsed.errors[0].reason


def test_cmb_xlsx_export(account):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["招商银行交易明细"])
    sheet.append(
        [
            "交易日",
            "流水号",
            "收(付)方名称",
            "收(付)方帐号",
            "借方金额",
            "贷方金额",
            "余额",
            "摘要",
            "用途",
        ]
    )
    sheet.append(
        [
            "20260226",
            "CMB-9",
            "Acme Trading Co.",
            "6217 0000 1111",
            None,
            1000.5,
            5000,
            "货款",
            "INV-1",
        ]
    )
    sheet.append(["20260226", "CMB-10", "Other", "1", 20, None, 4980, "fee", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = statement_parse(data=buffer.getvalue(), account=account)
    assert parsed.errors == []
    assert parsed.file_format == "cmb"
    (row,) = parsed.rows
    assert (row.line, row.transaction_id, row.amount, row.memo) == (
        3,
        "CMB-9",
        Decimal("1000.50"),
        "货款 INV-1",
    )
    assert ColumnProfile.objects.filter(is_builtin=True).count() == 3


def _camt(account_id: str, entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <Stmt>
      <Id>S1</Id>
      <Acct><Id><Othr><Id>{account_id}</Id></Othr></Id></Acct>
{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


CAMT_ENTRY = """      <Ntry>
        <Amt Ccy="CNY">{amount}</Amt>
        <CdtDbtInd>{indicator}</CdtDbtInd>
        <BookgDt><Dt>2026-02-25</Dt></BookgDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Nm>Acme Trading Co.</Nm></Dbtr>
            <DbtrAcct><Id><Othr><Id>62170000 1111</Id></Othr></Id></DbtrAcct></RltdPties>
          <RmtInf><Ustrd>INV-2</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


def test_camt053(account):
    entries = CAMT_ENTRY.format(amount="2500.00", indicator="CRDT", ref="C-1") + CAMT_ENTRY.format(
        amount="10.00", indicator="DBIT", ref="C-2"
    )
    parsed = statement_parse(data=_camt("6222000011112222", entries), account=account)
    assert parsed.errors == []
    assert parsed.file_format == "camt053"
    (row,) = parsed.rows
    assert row.line == 7
    assert (row.transaction_id, row.amount, row.payer_name, row.memo) == (
        "C-1",
        Decimal("2500.00"),
        "Acme Trading Co.",
        "INV-2",
    )
    assert row.payer_account == "62170000 1111"


def test_camt053_for_another_account_is_refused(account):
    entries = CAMT_ENTRY.format(amount="1.00", indicator="CRDT", ref="C-1")
    parsed = statement_parse(data=_camt("9999", entries), account=account)
    assert parsed.rows == []
    assert str(parsed.errors[0]) == (
        "line 1: the statement is for account 9999, not ICBC-1 (6222000011112222)"
    )


def test_camt053_refuses_entities(account):
    data = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "x">]><Document>&a;</Document>'
    parsed = statement_parse(data=data, account=account, profile="camt053")
    assert parsed.errors
    assert parsed.rows == []


MT940 = """:20:STMT1
:25:ICBKCNBJ/6222000011112222
:28C:1/1
:60F:C260224CNY1000,00
:61:2602250225C1234,50NTRFNONREF//BR-1
:86:/ORDP/Acme Trading Co./ACCT/6217 0000 1111/REMI/INV-1 INV-3
:61:2602250225D10,00NMSCNONREF//BR-2
:86:fee
:62F:C260225CNY2224,50
"""


def test_mt940(account):
    parsed = statement_parse(data=MT940.encode(), account=account)
    assert parsed.errors == []
    assert parsed.file_format == "mt940"
    (row,) = parsed.rows
    assert (row.line, row.transaction_id, row.amount, row.payer_name, row.payer_account) == (
        5,
        "BR-1",
        Decimal("1234.50"),
        "Acme Trading Co.",
        "6217 0000 1111",
    )
    assert row.memo == "INV-1 INV-3"
    assert parsed.ignored == 1


def test_mt940_for_another_account_is_refused(account):
    parsed = statement_parse(
        data=MT940.replace("6222000011112222", "1234567890").encode(), account=account
    )
    assert parsed.rows == []
    assert "is for account ICBKCNBJ/1234567890" in str(parsed.errors[0])
