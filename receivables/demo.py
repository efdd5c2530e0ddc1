"""Demo customers and contacts, spread over the two demo sales reps."""

from decimal import Decimal

from django.contrib.auth.models import AbstractUser

from receivables.models import Contact, Customer

DEMO_CUSTOMERS = (
    # code, name, industry, owner, limit, terms, language
    ("C-1001", "上海华东机电有限公司", "Machinery", "rep1", "500000.00", 60, "zh-hans"),
    ("C-1002", "Shenzhen Bright Optics Ltd.", "Electronics", "rep1", "300000.00", 45, "en"),
    ("C-1003", "北京远航物流有限公司", "Logistics", "rep1", "150000.00", 30, "zh-hans"),
    ("C-2001", "杭州云帆软件有限公司", "Software", "rep2", "200000.00", 30, "zh-hans"),
    ("C-2002", "Guangzhou Harbour Foods Co.", "Food", "rep2", "80000.00", 15, "en"),
)


def seed(*, users: dict[str, AbstractUser], stdout) -> None:
    for code, name, industry, owner, limit, terms, language in DEMO_CUSTOMERS:
        customer, _ = Customer.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "industry": industry,
                "sales_rep": users[owner],
                "credit_limit": Decimal(limit),
                "payment_terms_days": terms,
                "language": language,
                "is_new": False,
            },
        )
        Contact.objects.update_or_create(
            customer=customer,
            role=Contact.Role.FINANCE,
            defaults={
                "name": f"{code} Finance",
                "email": f"ap.{code.lower()}@customer.example",
                "phone": "+86 21 5555 0100",
            },
        )
    stdout.write(f"  {len(DEMO_CUSTOMERS)} customers")
