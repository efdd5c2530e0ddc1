"""Collections: contracts with clauses and proofs, cases, disputes, promises, plans, letters."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import factory

from contracts.models import (
    AgreementInstalment,
    Contract,
    DeliveryRecord,
    PaymentMilestone,
    SupplementaryAgreement,
)
from contracts.services.instalments import instalments_refresh
from dunning.models import (
    CaseEvent,
    CollectionCase,
    Communication,
    Dispute,
    DunningStep,
    LevelCode,
    PromiseToPay,
)
from dunning.services.rungs import invoices_rung_refresh
from receivables.services.payments import payment_record
from tests.factories.customers import CustomerFactory
from tests.factories.invoices import InvoiceFactory


class ContractFactory(factory.django.DjangoModelFactory):
    """An active credit-terms contract with a payee account and a 0.05 %/day late-fee clause."""

    class Meta:
        model = Contract
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"HT-{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    title = "Supply of goods"
    signed_date = date(2025, 12, 1)
    amount = Decimal("100000.00")
    currency = factory.LazyAttribute(lambda contract: contract.customer.currency)
    payment_type = Contract.PaymentType.CREDIT_TERMS
    credit_terms_days = 30
    payee_account_name = "Huikuan Demo Trading Co., Ltd."
    payee_bank_name = "Bank of Example, Shanghai Branch"
    payee_bank_account = "6222 0000 1111 2222"
    late_fee_rate_percent = Decimal("0.05")
    status = Contract.Status.ACTIVE


class PaymentMilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMilestone
        skip_postgeneration_save = True

    contract = factory.SubFactory(ContractFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    description = "Payment on delivery"
    percent = Decimal("100")
    trigger = PaymentMilestone.Trigger.DELIVERY
    offset_days = 30


class DeliveryRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryRecord
        skip_postgeneration_save = True

    contract = factory.SubFactory(ContractFactory)
    kind = DeliveryRecord.Kind.DELIVERY
    occurred_on = date(2026, 1, 2)
    signer_name = "Zhao Lei"
    proof = factory.django.FileField(filename="proof.pdf", data=b"%PDF-1.4 proof")
    proof_original_name = "proof.pdf"
    proof_content_type = "application/pdf"


def invoice_under_contract(*, contract: Contract, **invoice_fields) -> object:
    """An invoice billed by a milestone of the contract (invoice.milestone.contract)."""
    invoice = InvoiceFactory(
        customer=contract.customer, contract_number=contract.number, **invoice_fields
    )
    sequence = contract.milestones.count() + 1
    PaymentMilestoneFactory(contract=contract, invoice=invoice, sequence=sequence)
    return invoice


class CollectionCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CollectionCase
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    owner = factory.LazyAttribute(lambda case: case.customer.sales_rep)
    opened_on = date(2026, 2, 1)


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dispute
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    reason = "Goods damaged on arrival"
    opened_on = date(2026, 2, 5)

    @factory.post_generation
    def invoices(self, create, extracted, **kwargs):
        if create and extracted:
            self.invoices.set(extracted)


class PromiseToPayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromiseToPay
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("1000.00")
    currency = factory.LazyAttribute(lambda promise: promise.customer.currency)
    promised_date = date(2026, 3, 10)

    @factory.post_generation
    def invoices(self, create, extracted, **kwargs):
        if create and extracted:
            self.invoices.set(extracted)


class SupplementaryAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplementaryAgreement
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"SA-{n:05d}")
    kind = SupplementaryAgreement.Kind.INSTALMENT_PLAN
    status = SupplementaryAgreement.Status.PROPOSED
    reason = "Cash-flow trouble"

    @factory.post_generation
    def invoices(self, create, extracted, **kwargs):
        if create and extracted:
            self.invoices.set(extracted)
            instalments_refresh(agreement_ids=[self.pk])


class AgreementInstalmentFactory(factory.django.DjangoModelFactory):
    """An instalment with today's figures stored, as `agreement_propose` leaves it."""

    class Meta:
        model = AgreementInstalment
        skip_postgeneration_save = True

    agreement = factory.SubFactory(SupplementaryAgreementFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    due_date = date(2026, 4, 1)
    amount = Decimal("500.00")

    @factory.post_generation
    def stored_today(self, create, extracted, **kwargs):
        if create:
            instalments_refresh(agreement_ids=[self.agreement_id])
            self.refresh_from_db(fields=["outstanding", "currency"])


class CommunicationFactory(factory.django.DjangoModelFactory):
    """A demand letter waiting for finance approval."""

    class Meta:
        model = Communication

    business_date = date(2026, 3, 2)
    customer = factory.SubFactory(CustomerFactory)
    level = LevelCode.DEMAND_LETTER
    currency = factory.LazyAttribute(lambda communication: communication.customer.currency)
    channels = factory.LazyFunction(lambda: ["email", "letter"])
    status = Communication.Status.AWAITING_APPROVAL
    language = factory.LazyAttribute(lambda communication: communication.customer.language)


class DunningStepFactory(factory.django.DjangoModelFactory):
    """An invoice that reached the demand-letter level, carried by a communication."""

    class Meta:
        model = DunningStep
        skip_postgeneration_save = True

    invoice = factory.SubFactory(InvoiceFactory)
    customer = factory.LazyAttribute(lambda step: step.invoice.customer)
    level = LevelCode.DEMAND_LETTER
    fired_on = date(2026, 3, 2)
    due_date = factory.LazyAttribute(lambda step: step.invoice.due_date)
    currency = factory.LazyAttribute(lambda step: step.invoice.currency)
    outstanding = factory.LazyAttribute(lambda step: step.invoice.outstanding)
    batch = factory.LazyFunction(uuid.uuid4)

    @factory.post_generation
    def rung(self, create, extracted, **kwargs):
        """The invoice's stored rung follows its steps, as the daily run keeps it."""
        if create and self.invoice_id:
            invoices_rung_refresh(steps=DunningStep.objects.filter(pk=self.pk))


class CaseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseEvent

    customer = factory.SubFactory(CustomerFactory)
    kind = CaseEvent.Kind.NOTE
    text = "Note"


def overdue_invoice(*, customer, due: date, amount: str = "1000.00", **fields) -> object:
    """An open invoice issued 30 days before its due date."""
    return InvoiceFactory(
        customer=customer,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        **fields,
    )


def pay_invoice(*, invoice, amount: str, on: date, actor=None) -> object:
    """Record a payment allocated to the invoice, through the payment service."""
    return payment_record(
        customer=invoice.customer,
        payment_date=on,
        amount=Decimal(amount),
        currency=invoice.currency,
        reference=f"PAY-{invoice.number}-{on:%Y%m%d}-{amount}",
        actor=actor,
        allocations=[(invoice, Decimal(amount))],
    )
