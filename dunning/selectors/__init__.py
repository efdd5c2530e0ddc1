"""Reads for collections, by area; import from here or from the area module.

Open amounts live in `receivables.selectors.balances` (invoices) and
`contracts.selectors.instalments` (instalments); the active policy and what
is read from it in `dunning.policy`.
"""

from dunning.selectors.cases import (
    agreement_get,
    agreement_list_pending,
    case_task_list_open,
    collection_case_get,
    collection_case_list,
    collection_case_open_for_customer,
    communication_get,
    customer_agreement_list,
    customer_communication_list,
    customer_dispute_list,
    customer_get,
    customer_open_case_relation,
    customer_promise_list,
    customer_timeline,
    dispute_get,
    dispute_list_open,
    letter_list_awaiting_approval,
)
from dunning.selectors.items import (
    OverdueItem,
    customer_overdue_invoices,
    customer_overdue_items,
    instalment_late_fee,
    instalment_late_fee_clause,
    invoice_ids_covered_by_agreements,
    invoice_list_for_agreement,
    invoice_list_for_dispute,
    invoice_list_for_promise,
)

__all__ = [
    "OverdueItem",
    "agreement_get",
    "agreement_list_pending",
    "case_task_list_open",
    "collection_case_get",
    "collection_case_list",
    "collection_case_open_for_customer",
    "communication_get",
    "customer_agreement_list",
    "customer_communication_list",
    "customer_dispute_list",
    "customer_get",
    "customer_open_case_relation",
    "customer_overdue_invoices",
    "customer_overdue_items",
    "customer_promise_list",
    "customer_timeline",
    "dispute_get",
    "dispute_list_open",
    "instalment_late_fee",
    "instalment_late_fee_clause",
    "invoice_ids_covered_by_agreements",
    "invoice_list_for_agreement",
    "invoice_list_for_dispute",
    "invoice_list_for_promise",
    "letter_list_awaiting_approval",
]
