from receivables.models.customers import Contact, Customer
from receivables.models.invoices import CreditNote, Invoice, Payment, PaymentAllocation

__all__ = ["Contact", "CreditNote", "Customer", "Invoice", "Payment", "PaymentAllocation"]
