from receivables.models.customers import Contact, Customer

__all__ = ["Contact", "Customer"]
