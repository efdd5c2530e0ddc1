from datetime import date
from decimal import Decimal

import pytest

from contracts.models import Contract
from contracts.services import (
    ContractData,
    contract_activate,
    contract_create,
    contract_review,
    contract_submit_for_review,
)
from tests.factories.contracts import milestones_30_60_10
from tests.factories.customers import CustomerFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

SIGNED = date(2026, 3, 2)
TODAY = date(2026, 3, 10)


def contract_data(**overrides) -> ContractData:
    """Complete terms for a CNY contract of 100,000.00 on 30 days."""
    values = {
        "number": "HT-2026-001",
        "title": "Packaging line",
        "amount": Decimal("100000.00"),
        "currency": "CNY",
        "payment_type": Contract.PaymentType.INSTALMENTS,
        "credit_terms_days": 30,
        "payee_account_name": "Huikuan Demo Trading Co., Ltd.",
        "payee_bank_name": "Bank of China, Shanghai Pudong Branch",
        "payee_bank_account": "4567 8901 2345 6789",
        "late_fee_rate_percent": Decimal("0.05"),
        "late_fee_grace_days": 3,
        "late_fee_cap_percent": Decimal("10"),
        "dispute_resolution_clause": "Shanghai International Arbitration Centre.",
    }
    values.update(overrides)
    return ContractData(**values)


@pytest.fixture
def finance():
    return FinanceUserFactory()


@pytest.fixture
def rep():
    return SalesRepFactory()


@pytest.fixture
def customer(rep):
    return CustomerFactory(
        sales_rep=rep, credit_limit=Decimal("500000.00"), payment_terms_days=30, currency="CNY"
    )


@pytest.fixture
def draft(rep, customer) -> Contract:
    return contract_create(
        actor=rep, customer=customer, data=contract_data(), milestones=milestones_30_60_10()
    )


@pytest.fixture
def in_review(draft, rep) -> Contract:
    return contract_submit_for_review(contract=draft, actor=rep)


@pytest.fixture
def approved(in_review, finance) -> Contract:
    return contract_review(contract=in_review, actor=finance, approve=True, comment="Fine.")


@pytest.fixture
def active(approved, finance) -> Contract:
    return contract_activate(contract=approved, actor=finance, signed_date=SIGNED, as_of=TODAY)
