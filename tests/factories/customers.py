from decimal import Decimal

import factory

from receivables.models import Contact, Customer
from tests.factories.users import SalesRepFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C-{n:05d}")
    name = factory.Faker("company")
    currency = "CNY"
    sales_rep = factory.SubFactory(SalesRepFactory)
    credit_limit = Decimal("100000.00")
    payment_terms_days = 30


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    role = Contact.Role.FINANCE
    email = factory.Faker("email")
