"""Writes for contracts; every function is a transaction that locks what it changes.

The public services are re-exported here: `from contracts.services import contract_activate`.
"""

from contracts.services.deliveries import delivery_record_create, proof_validate
from contracts.services.invoicing import milestone_invoice_issue
from contracts.services.lifecycle import (
    ContractData,
    contract_activate,
    contract_clause_problems,
    contract_close,
    contract_create,
    contract_review,
    contract_submit_for_review,
    contract_terms_approve,
    contract_terms_exceed_customer,
    contract_terms_need_approval,
    contract_update,
)
from contracts.services.milestones import (
    MilestoneData,
    contract_effective_terms_days,
    milestone_add,
    milestone_amounts,
    milestone_delete,
    milestone_shares,
    milestone_trigger_record,
    milestone_update,
)

__all__ = [
    "ContractData",
    "MilestoneData",
    "contract_activate",
    "contract_clause_problems",
    "contract_close",
    "contract_create",
    "contract_effective_terms_days",
    "contract_review",
    "contract_submit_for_review",
    "contract_terms_approve",
    "contract_terms_exceed_customer",
    "contract_terms_need_approval",
    "contract_update",
    "delivery_record_create",
    "milestone_add",
    "milestone_amounts",
    "milestone_delete",
    "milestone_invoice_issue",
    "milestone_shares",
    "milestone_trigger_record",
    "milestone_update",
    "proof_validate",
]
