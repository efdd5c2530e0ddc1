"""The open items a receipt can pay: open invoices no approved agreement replaces, and the
instalments of approved agreements, read for many customers at once.

Open amounts come from their homes: today's stored `outstanding` of open invoices
(`receivables.selectors.balances`) and the instalment rule of
`contracts.selectors.instalments` (as of today). An item is open while it owes at
least the policy's tolerance (`is_owing`): below it, it is settled.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import instalments_as_of, invoice_replaced
from core.money import money_quantize
from receivables.models import Invoice
from receivables.selectors.balances import invoices_open_today, is_owing

CHUNK = 500


@dataclass
class OpenItem:
    """An invoice or an instalment with what it still asks for; `invoices` are the invoices a
    payment of it is allocated to, oldest due first, with their open amounts."""

    kind: str  # "invoice" or "instalment"
    pk: int
    label: str
    customer_id: int
    currency: str
    due_date: date
    open_amount: Decimal
    invoices: list[tuple[int, Decimal]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pk}"


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def open_items_for_customers(
    *, customer_ids: Iterable[int], tolerance: Decimal
) -> dict[int, list[OpenItem]]:
    """Each customer's open items, oldest due first (ties by label): three queries a chunk."""
    result: dict[int, list[OpenItem]] = defaultdict(list)
    for ids in _chunks(sorted(set(customer_ids))):
        invoices = (
            invoices_open_today(Invoice.objects.filter(customer_id__in=ids))
            .exclude(invoice_replaced())
            .values_list("pk", "number", "customer_id", "currency", "due_date", "outstanding")
        )
        for pk, number, customer_id, currency, due, outstanding in invoices:
            amount = money_quantize(outstanding)
            if is_owing(open_amount=amount, tolerance=tolerance):
                result[customer_id].append(
                    OpenItem(
                        "invoice", pk, number, customer_id, currency, due, amount, [(pk, amount)]
                    )
                )
        instalments = list(
            instalments_as_of(
                as_of=None,
                queryset=AgreementInstalment.objects.filter(agreement__customer_id__in=ids),
            ).values_list(
                "pk",
                "agreement_id",
                "sequence",
                "customer_id_value",
                "currency_value",
                "due_date",
                "open_amount",
            )
        )
        agreement_ids = {row[1] for row in instalments}
        covered: dict[int, list[tuple[date, str, int, Decimal]]] = defaultdict(list)
        if agreement_ids:
            rows = (
                SupplementaryAgreement.invoices.through.objects.filter(
                    supplementaryagreement_id__in=agreement_ids
                )
                .exclude(invoice__status=Invoice.Status.CANCELLED)
                .values_list(
                    "supplementaryagreement_id",
                    "invoice__due_date",
                    "invoice__number",
                    "invoice_id",
                    "invoice__outstanding",
                    "invoice__status",
                )
            )
            for agreement_id, due, number, invoice_id, outstanding, status in rows:
                amount = money_quantize(outstanding) if status == Invoice.Status.OPEN else None
                covered[agreement_id].append((due, number, invoice_id, amount or Decimal("0.00")))
            for entries in covered.values():
                entries.sort()
        for pk, agreement_id, sequence, customer_id, currency, due, open_amount in instalments:
            amount = money_quantize(open_amount or 0)
            if not is_owing(open_amount=amount, tolerance=tolerance):
                continue
            entries = covered.get(agreement_id, [])
            base = entries[0][1] if entries else str(agreement_id)
            result[customer_id].append(
                OpenItem(
                    "instalment",
                    pk,
                    f"{base}#{sequence}",
                    customer_id,
                    currency,
                    due,
                    amount,
                    [(invoice_id, value) for _due, _n, invoice_id, value in entries if value > 0],
                )
            )
    for items in result.values():
        items.sort(key=lambda item: (item.due_date, item.label))
    return result
