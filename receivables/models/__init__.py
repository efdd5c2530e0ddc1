from receivables.models.credit import (
    CreditAssessment,
    CreditGrade,
    CreditHoldEvent,
    CreditOverride,
    CreditPolicy,
)
from receivables.models.customers import Contact, Customer
from receivables.models.invoices import CreditNote, Invoice, Payment, PaymentAllocation

__all__ = [
    "Contact",
    "CreditAssessment",
    "CreditGrade",
    "CreditHoldEvent",
    "CreditNote",
    "CreditOverride",
    "CreditPolicy",
    "Customer",
    "Invoice",
    "Payment",
    "PaymentAllocation",
]
