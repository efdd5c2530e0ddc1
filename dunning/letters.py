"""Demand letters: gather what DESIGN.md says a letter holds, render it, print it to PDF.

A letter names creditor and debtor, quotes each contract's payment and
late-fee clauses, lists every overdue item (number, amount, due date, days
overdue, proof of delivery, late fee to the letter date), the total demanded,
the final deadline and the payee bank account, in the customer's language.
Anything that keeps a complete letter from being made raises
`DemandLetterError` with a reason the sender records on the communication.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from contracts.models import AgreementInstalment, Contract, DeliveryRecord
from contracts.selectors.instalments import agreement_instalment_positions
from core.events import formal_date_text
from core.money import money_quantize
from dunning.creditor import creditor_setting
from dunning.late_fees import LateFeeClause, invoice_late_fee, invoice_late_fee_clause
from dunning.models import Communication, DunningLevel, DunningPolicy, instalment_label
from dunning.pdf import PdfRenderError, html_to_pdf
from dunning.policy import (
    communication_letter_date,
    communication_policy,
    letter_deadline,
    policy_letter_deadline_days,
    policy_tolerance,
)
from dunning.selectors import instalment_late_fee, instalment_late_fee_clause
from dunning.typography import chinese_html
from receivables.models import Contact, Customer, Invoice
from receivables.selectors.balances import invoice_reductions, is_overdue, open_amount_after

DEFAULT_TEMPLATE = "dunning/letters/demand_letter.html"
LANGUAGES = ("zh-hans", "en")
ZERO = Decimal("0.00")


class DemandLetterError(Exception):
    """The demand letter cannot be made; the message says why, for the sender to record."""


def money_text(value: Decimal) -> str:
    """Amounts on a letter: grouped thousands and two decimals in every language."""
    return f"{money_quantize(value):,.2f}"


@dataclass(frozen=True)
class LetterItem:
    reference: str
    description: str
    currency: str
    amount: Decimal
    outstanding: Decimal
    due_date: date
    days_overdue: int
    late_fee: Decimal
    proofs: list[str]
    clause_key: str

    @property
    def amount_text(self) -> str:
        return money_text(self.amount)

    @property
    def outstanding_text(self) -> str:
        return money_text(self.outstanding)

    @property
    def late_fee_text(self) -> str:
        return money_text(self.late_fee)


@dataclass(frozen=True)
class LetterClause:
    key: str
    contract_number: str
    title: str
    signed_date: date | None
    payment_clause: str
    late_fee_clause: str
    dispute_clause: str = ""
    agreement_number: str = ""


@dataclass(frozen=True)
class PayeeAccount:
    account_name: str
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class Creditor:
    name: str
    address: str
    registration_number: str


@dataclass(frozen=True)
class DemandLetter:
    """Everything a demand letter states, ready for the template."""

    reference: str
    language: str
    letter_date: date
    deadline: date
    deadline_days: int
    creditor: Creditor
    customer: Customer
    attention: str
    currency: str
    items: list[LetterItem]
    clauses: list[LetterClause]
    accounts: list[PayeeAccount]
    total_outstanding: Decimal = ZERO
    total_late_fee: Decimal = ZERO
    total_demanded: Decimal = ZERO

    @property
    def total_outstanding_text(self) -> str:
        return money_text(self.total_outstanding)

    @property
    def total_late_fee_text(self) -> str:
        return money_text(self.total_late_fee)

    @property
    def total_demanded_text(self) -> str:
        return money_text(self.total_demanded)


def creditor_from_settings(*, language: str | None = None) -> Creditor:
    """The creditor's name, address and registration number in the letter's language."""
    return Creditor(
        name=creditor_setting("CREDITOR_NAME", language=language),
        address=creditor_setting("CREDITOR_ADDRESS", language=language),
        registration_number=settings.CREDITOR_REGISTRATION_NUMBER,
    )


def _day(value: date | datetime | None) -> str:
    return formal_date_text(value)


def _percent(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def late_fee_clause_text(clause: LateFeeClause, *, from_contract: bool) -> str:
    """Describe a late-fee clause in a sentence (in the active language)."""
    if clause.rate_percent == 0:
        return _("No late fee.")
    if clause.period == "year":
        text = _("%(rate)s %% per year (%(rate)s %% / 365 per day) of the overdue amount") % {
            "rate": _percent(clause.rate_percent)
        }
    else:
        text = _("%(rate)s %% per day of the overdue amount") % {
            "rate": _percent(clause.rate_percent)
        }
    if clause.grace_days:
        text += _(", accruing from day %(day)s after the due date") % {"day": clause.grace_days + 1}
    if clause.cap_percent is not None:
        text += _(", capped at %(cap)s %% of the overdue amount") % {
            "cap": _percent(clause.cap_percent)
        }
    text += "."
    if not from_contract:
        text = _("Our standard terms: %(terms)s") % {"terms": text}
    return text


def _payment_clause_text(contract: Contract) -> str:
    text = _("Payment type: %(type)s.") % {"type": contract.get_payment_type_display()}
    if contract.credit_terms_days:
        text += " " + _("Credit terms: %(days)s days.") % {"days": contract.credit_terms_days}
    milestones = list(contract.milestones.all())
    if milestones:
        parts = [
            _("%(sequence)s. %(description)s: %(percent)s %% (%(trigger)s + %(days)s days)")
            % {
                "sequence": milestone.sequence,
                "description": milestone.description,
                "percent": _percent(milestone.percent),
                "trigger": milestone.get_trigger_display(),
                "days": milestone.offset_days,
            }
            for milestone in milestones
        ]
        text += " " + _("Payment schedule: %(schedule)s.") % {"schedule": "; ".join(parts)}
    return text


def _contract_clause(contract: Contract, *, late_fee: LateFeeClause) -> LetterClause:
    return LetterClause(
        key=f"contract:{contract.pk}",
        contract_number=contract.number,
        title=contract.title,
        signed_date=contract.signed_date,
        payment_clause=_payment_clause_text(contract),
        late_fee_clause=late_fee_clause_text(
            late_fee, from_contract=contract.late_fee_rate_percent is not None
        ),
        dispute_clause=contract.dispute_resolution_clause,
    )


def _invoice_contract(invoice: Invoice) -> Contract | None:
    try:
        return invoice.milestone.contract
    except ObjectDoesNotExist:
        return None


def _invoice_milestone_text(invoice: Invoice) -> str:
    try:
        milestone = invoice.milestone
    except ObjectDoesNotExist:
        return ""
    return _("Milestone %(sequence)s: %(description)s") % {
        "sequence": milestone.sequence,
        "description": milestone.description,
    }


def _invoice_proofs(invoice: Invoice, records: Sequence[DeliveryRecord], as_of: date) -> list[str]:
    proofs = [
        _("%(kind)s on %(date)s, signed by %(signer)s")
        % {
            "kind": record.get_kind_display(),
            "date": _day(record.occurred_on),
            "signer": record.signer_name,
        }
        for record in records
        if record.occurred_on <= as_of
    ]
    if invoice.delivered_at is not None:
        method = invoice.get_delivery_method_display() or _("unspecified means")
        if invoice.tracking_number:
            proofs.append(
                _("Invoice delivered on %(date)s by %(method)s, tracking number %(tracking)s")
                % {
                    "date": _day(invoice.delivered_at),
                    "method": method,
                    "tracking": invoice.tracking_number,
                }
            )
        else:
            proofs.append(
                _("Invoice delivered on %(date)s by %(method)s")
                % {"date": _day(invoice.delivered_at), "method": method}
            )
    if invoice.receipt_confirmed_at is not None:
        proofs.append(
            _("Receipt confirmed on %(date)s by %(name)s")
            % {
                "date": _day(invoice.receipt_confirmed_at),
                "name": invoice.receipt_confirmed_by or _("the customer"),
            }
        )
    if not proofs:
        proofs.append(_("No proof of delivery on file."))
    return proofs


def _records_by_contract(contract_ids: Iterable[int]) -> dict[int, list[DeliveryRecord]]:
    records: dict[int, list[DeliveryRecord]] = {}
    for record in DeliveryRecord.objects.filter(contract_id__in=set(contract_ids)).order_by(
        "occurred_on", "pk"
    ):
        records.setdefault(record.contract_id, []).append(record)
    return records


def _account(contract: Contract | None) -> PayeeAccount | None:
    if contract is None or not contract.payee_bank_account.strip():
        return None
    return PayeeAccount(
        account_name=contract.payee_account_name or creditor_setting("CREDITOR_NAME"),
        bank_name=contract.payee_bank_name,
        account_number=contract.payee_bank_account.strip(),
    )


def _settings_account() -> PayeeAccount | None:
    number = (getattr(settings, "CREDITOR_BANK_ACCOUNT", "") or "").strip()
    if not number:
        return None
    return PayeeAccount(
        account_name=creditor_setting("CREDITOR_BANK_ACCOUNT_NAME")
        or creditor_setting("CREDITOR_NAME"),
        bank_name=creditor_setting("CREDITOR_BANK_NAME"),
        account_number=number,
    )


def _finance_contact_name(customer: Customer) -> str:
    contact = customer.contacts.filter(role=Contact.Role.FINANCE).order_by("name").first()
    return contact.name if contact else ""


def demand_letter_build(
    *,
    customer: Customer,
    as_of: date,
    invoices: Sequence[Invoice] = (),
    instalments: Sequence[AgreementInstalment] = (),
    language: str | None = None,
    deadline_days: int | None = None,
    tolerance: Decimal | None = None,
    reference: str = "",
    attention: str | None = None,
    currency: str | None = None,
) -> DemandLetter:
    """Assemble the letter's content as of the letter date; call inside the letter's language."""
    if deadline_days is None:
        deadline_days = policy_letter_deadline_days()
    if tolerance is None:
        tolerance = policy_tolerance()
    if deadline_days < 1:
        raise DemandLetterError("The letter deadline must be at least one day.")
    invoices = [invoice for invoice in invoices if invoice.status != Invoice.Status.CANCELLED]
    currencies = {invoice.currency for invoice in invoices}
    agreements = {instalment.agreement_id: instalment.agreement for instalment in instalments}
    for agreement in agreements.values():
        currencies |= {invoice.currency for invoice in agreement.invoices.all()}
    if currency:
        currencies.add(currency)
    if len(currencies) > 1:
        raise DemandLetterError(
            "A demand letter is in one currency; the items are in "
            + ", ".join(sorted(currencies))
            + "."
        )
    letter_currency = currencies.pop() if currencies else customer.currency
    if any(invoice.customer_id != customer.pk for invoice in invoices) or any(
        agreement.customer_id != customer.pk for agreement in agreements.values()
    ):
        raise DemandLetterError("Every item of a demand letter must belong to its customer.")

    contracts: dict[int, Contract] = {}
    for invoice in invoices:
        contract = _invoice_contract(invoice)
        if contract is not None:
            contracts[contract.pk] = contract
    for agreement in agreements.values():
        if agreement.contract is not None:
            contracts[agreement.contract.pk] = agreement.contract
    records = _records_by_contract(contracts)

    items: list[LetterItem] = []
    clauses: dict[str, LetterClause] = {}
    accounts: list[PayeeAccount] = []

    def add_account(account: PayeeAccount | None) -> None:
        if account is not None and account not in accounts:
            accounts.append(account)

    reductions = invoice_reductions(invoice_ids=[i.pk for i in invoices], as_of=as_of)
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        outstanding = open_amount_after(amount=invoice.amount, reductions=reductions[invoice.pk])
        if not is_overdue(
            due_date=invoice.due_date, open_amount=outstanding, as_of=as_of, tolerance=tolerance
        ):
            continue
        contract = _invoice_contract(invoice)
        if contract is not None:
            key = f"contract:{contract.pk}"
            if key not in clauses:
                clauses[key] = _contract_clause(
                    contract, late_fee=invoice_late_fee_clause(invoice=invoice)
                )
            add_account(_account(contract))
        else:
            key = f"invoice-contract:{invoice.contract_number}"
            if key not in clauses:
                clauses[key] = LetterClause(
                    key=key,
                    contract_number=invoice.contract_number,
                    title="" if invoice.contract_number else _("Invoices without a contract"),
                    signed_date=None,
                    payment_clause=_("Payment due %(days)s days after the invoice date.")
                    % {"days": (invoice.due_date - invoice.issue_date).days},
                    late_fee_clause=late_fee_clause_text(
                        invoice_late_fee_clause(invoice=invoice), from_contract=False
                    ),
                )
        items.append(
            LetterItem(
                reference=invoice.number,
                description=_invoice_milestone_text(invoice),
                currency=invoice.currency,
                amount=invoice.amount,
                outstanding=outstanding,
                due_date=invoice.due_date,
                days_overdue=(as_of - invoice.due_date).days,
                late_fee=invoice_late_fee(invoice=invoice, as_of=as_of),
                proofs=_invoice_proofs(
                    invoice, records.get(contract.pk, []) if contract else [], as_of
                ),
                clause_key=key,
            )
        )

    for agreement in agreements.values():
        positions = agreement_instalment_positions(agreement=agreement, as_of=as_of)
        replaced = list(agreement.invoices.order_by("due_date", "number"))
        key = f"agreement:{agreement.pk}"
        clause_source = next(iter(i for i in instalments if i.agreement_id == agreement.pk))
        contract = agreement.contract
        clauses[key] = LetterClause(
            key=key,
            contract_number=contract.number
            if contract
            else next((i.contract_number for i in replaced if i.contract_number), ""),
            title=contract.title if contract else "",
            signed_date=contract.signed_date if contract else None,
            agreement_number=agreement.number,
            payment_clause=_(
                "Supplementary agreement %(number)s (%(kind)s) replaced the due dates of "
                "invoices %(invoices)s with %(count)s instalment(s)."
            )
            % {
                "number": agreement.number,
                "kind": agreement.get_kind_display(),
                "invoices": ", ".join(invoice.number for invoice in replaced),
                "count": len(positions),
            },
            late_fee_clause=late_fee_clause_text(
                instalment_late_fee_clause(instalment=clause_source),
                from_contract=agreement.late_fee_rate_percent is not None
                or (contract is not None and contract.late_fee_rate_percent is not None),
            ),
            dispute_clause=contract.dispute_resolution_clause if contract else "",
        )
        add_account(_account(contract))
        for invoice in replaced:
            add_account(_account(_invoice_contract(invoice)))
        proofs: list[str] = []
        for invoice in replaced:
            invoice_contract = _invoice_contract(invoice)
            for proof in _invoice_proofs(
                invoice,
                records.get(invoice_contract.pk, []) if invoice_contract else [],
                as_of,
            ):
                proofs.append(f"{invoice.number}: {proof}")
        for instalment in sorted(
            (i for i in instalments if i.agreement_id == agreement.pk), key=lambda i: i.sequence
        ):
            position = positions.get(instalment.pk)
            if position is None or not is_overdue(
                due_date=instalment.due_date,
                open_amount=position.outstanding,
                as_of=as_of,
                tolerance=tolerance,
            ):
                continue
            items.append(
                LetterItem(
                    reference=instalment_label(instalment),
                    description=_("Instalment %(sequence)s of agreement %(number)s")
                    % {"sequence": instalment.sequence, "number": agreement.number},
                    currency=letter_currency,
                    amount=instalment.amount,
                    outstanding=position.outstanding,
                    due_date=instalment.due_date,
                    days_overdue=(as_of - instalment.due_date).days,
                    late_fee=instalment_late_fee(
                        instalment=instalment, as_of=as_of, position=position
                    ),
                    proofs=proofs,
                    clause_key=key,
                )
            )

    if not items:
        raise DemandLetterError(
            f"Nothing is overdue on {as_of.isoformat()} among the letter's items: no letter."
        )
    if not accounts:
        add_account(_settings_account())
    if not accounts:
        raise DemandLetterError(
            "No payee bank account: set one on the contract or CREDITOR_BANK_ACCOUNT."
        )
    items.sort(key=lambda item: (item.due_date, item.reference))
    total_outstanding = money_quantize(sum((item.outstanding for item in items), ZERO))
    total_late_fee = money_quantize(sum((item.late_fee for item in items), ZERO))
    used = {item.clause_key for item in items}
    return DemandLetter(
        reference=reference,
        language=language or customer.language,
        letter_date=as_of,
        deadline=letter_deadline(letter_date=as_of, days=deadline_days),
        deadline_days=deadline_days,
        creditor=creditor_from_settings(language=language or customer.language),
        customer=customer,
        attention=_finance_contact_name(customer) if attention is None else attention,
        currency=letter_currency,
        items=items,
        clauses=[clause for key, clause in clauses.items() if key in used],
        accounts=accounts,
        total_outstanding=total_outstanding,
        total_late_fee=total_late_fee,
        total_demanded=money_quantize(total_outstanding + total_late_fee),
    )


def _language(value: str | None, customer: Customer) -> str:
    language = value or customer.language
    if language not in LANGUAGES:
        raise DemandLetterError(f"Letters are written in zh-hans or en, not {language!r}.")
    return language


def demand_letter_html(*, letter: DemandLetter, template_name: str = DEFAULT_TEMPLATE) -> str:
    """Render the letter's HTML document (call inside the letter's language)."""
    try:
        document = render_to_string(template_name, {"letter": letter})
    except TemplateDoesNotExist as error:
        raise DemandLetterError(f"Letter template {template_name!r} does not exist.") from error
    except TemplateSyntaxError as error:
        raise DemandLetterError(f"Letter template {template_name!r} is broken: {error}") from error
    if letter.language.startswith("zh"):
        document = chinese_html(document)
    return document


def demand_letter_pdf(
    *,
    customer: Customer,
    as_of: date,
    invoices: Sequence[Invoice] = (),
    instalments: Sequence[AgreementInstalment] = (),
    language: str | None = None,
    deadline_days: int | None = None,
    tolerance: Decimal | None = None,
    reference: str = "",
    attention: str | None = None,
    currency: str | None = None,
    template_name: str = DEFAULT_TEMPLATE,
) -> bytes:
    """Render a demand letter for the customer's items as of the letter date, as PDF bytes."""
    language = _language(language, customer)
    with translation.override(language):
        letter = demand_letter_build(
            customer=customer,
            as_of=as_of,
            invoices=invoices,
            instalments=instalments,
            language=language,
            deadline_days=deadline_days,
            reference=reference,
            attention=attention,
            currency=currency,
        )
        html = demand_letter_html(letter=letter, template_name=template_name)
    try:
        return html_to_pdf(html, base_url=str(settings.BASE_DIR))
    except PdfRenderError as error:
        raise DemandLetterError(str(error)) from error


def communication_letter_reference(*, communication: Communication) -> str:
    """A reference the customer can quote: customer code, business date, message number."""
    return f"{communication.customer.code}-{communication.business_date:%Y%m%d}-{communication.pk}"


def _communication_template(communication: Communication, policy: DunningPolicy | None) -> str:
    if policy is None:
        return DEFAULT_TEMPLATE
    level = DunningLevel.objects.filter(policy=policy, code=communication.level).first()
    if level is None or not level.letter_template:
        return DEFAULT_TEMPLATE
    return level.letter_template


def demand_letter_render(*, communication: Communication, letter_date: date | None = None) -> bytes:
    """Render the communication's demand letter to PDF bytes, or raise DemandLetterError.

    Its items are the communication's steps (those not left out); amounts and
    late fees are as of the letter date (the day it goes out, or `letter_date`
    for a preview); the deadline is that date plus the policy's days.
    """
    steps = list(
        communication.steps.filter(excluded_reason="").select_related(
            "invoice__milestone__contract",
            "instalment__agreement__contract",
        )
    )
    invoices = [step.invoice for step in steps if step.invoice_id]
    instalments = [step.instalment for step in steps if step.instalment_id]
    if not invoices and not instalments:
        raise DemandLetterError("The communication lists no items for a letter.")
    policy = communication_policy(communication=communication)
    return demand_letter_pdf(
        customer=communication.customer,
        as_of=letter_date or communication_letter_date(communication=communication),
        invoices=invoices,
        instalments=instalments,
        language=communication.language or communication.customer.language,
        deadline_days=policy_letter_deadline_days(policy=policy),
        tolerance=policy_tolerance(policy=policy),
        reference=communication_letter_reference(communication=communication),
        attention=communication.recipient_name or None,
        currency=communication.currency,
        template_name=_communication_template(communication, policy),
    )
