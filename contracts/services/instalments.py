"""Today's open amount and currency of agreements' instalments, stored beside them.

Invoices store today's `outstanding`; an instalment's follows from its agreement's
invoices by the rule of `contracts.selectors.instalments`, so it is written here, in the
transaction that moved the money: the balance listener (registered `immediate` in
`ContractsConfig.ready`) on every payment, reversal, credit note and cancellation, and
the services that create instalments. Pages and runs for today then read a column
instead of correlated subqueries per instalment.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from contracts.models import AgreementInstalment, SupplementaryAgreement
from contracts.selectors.instalments import instalment_currency, instalment_open_amount_today
from receivables.services.balance_changes import BalanceChange


def instalments_refresh(*, agreement_ids: Iterable[int] | QuerySet) -> int:
    """Store today's figures of these agreements' instalments (one UPDATE); return the count."""
    if not isinstance(agreement_ids, QuerySet):
        agreement_ids = list(agreement_ids)
        if not agreement_ids:
            return 0
    return AgreementInstalment.objects.filter(agreement_id__in=agreement_ids).update(
        outstanding=instalment_open_amount_today(), currency=instalment_currency()
    )


def instalments_follow_balance(change: BalanceChange) -> None:
    """Refresh the instalments of the agreements that cover invoices whose balance moved."""
    instalments_refresh(
        agreement_ids=SupplementaryAgreement.invoices.through.objects.filter(
            invoice_id__in=change.invoice_ids
        ).values("supplementaryagreement_id")
    )
