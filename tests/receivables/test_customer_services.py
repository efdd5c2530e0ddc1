"""Customer master and contacts through the services: roles, scope, validation, history."""

from decimal import Decimal

import pytest

from core.exceptions import BusinessRuleError
from receivables.models import Contact, Customer
from receivables.services.customers import (
    contact_create,
    contact_delete,
    contact_update,
    customer_create,
    customer_update,
)
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.users import (
    FinanceUserFactory,
    ManagerFactory,
    SalesRepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_rep_creates_a_customer_they_own_with_no_credit_yet():
    rep = SalesRepFactory()

    customer = customer_create(
        actor=rep, code=" C-9001 ", name="Ningbo Tools Ltd.", currency="cny", industry="Tools"
    )

    customer.refresh_from_db()
    assert customer.code == "C-9001"
    assert customer.sales_rep == rep
    assert customer.currency == "CNY"
    assert (customer.credit_limit, customer.payment_terms_days) == (Decimal("0.00"), 0)
    assert customer.is_new
    assert customer.credit_status == Customer.CreditStatus.ACTIVE
    assert customer.history.get().history_user == rep


def test_a_rep_cannot_create_a_customer_for_another_rep():
    with pytest.raises(BusinessRuleError, match="only create customers they own"):
        customer_create(actor=SalesRepFactory(), code="C-1", name="X", sales_rep=SalesRepFactory())

    assert not Customer.objects.exists()


def test_finance_assigns_the_owning_rep_who_must_be_a_sales_rep():
    finance, rep = FinanceUserFactory(), SalesRepFactory()

    with pytest.raises(BusinessRuleError, match="Choose the sales rep") as missing:
        customer_create(actor=finance, code="C-1", name="X")
    with pytest.raises(BusinessRuleError, match="is not an active sales rep"):
        customer_create(actor=finance, code="C-1", name="X", sales_rep=ManagerFactory())
    customer = customer_create(actor=finance, code="C-1", name="X", sales_rep=rep)

    assert missing.value.field == "sales_rep"
    assert customer.sales_rep == rep


def test_a_user_without_a_role_cannot_create_customers():
    with pytest.raises(BusinessRuleError, match="role cannot create"):
        customer_create(actor=UserFactory(), code="C-1", name="X")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"code": "c-0001"}, "code", "is taken"),
        ({"code": "  "}, "code", "Enter the customer code"),
        ({"currency": "XYZ"}, "currency", "not an ISO 4217"),
        ({"name": ""}, "name", "cannot be blank"),
        ({"code": "C" * 40}, "code", "at most 32"),
    ],
)
def test_bad_customer_input_is_refused(fields, field, message):
    CustomerFactory(code="C-0001")
    rep = SalesRepFactory()

    with pytest.raises(BusinessRuleError, match=message) as refused:
        customer_create(actor=rep, **{"code": "C-0002", "name": "Y", **fields})

    assert refused.value.field == field
    assert Customer.objects.count() == 1


def test_a_rep_updates_master_data_of_their_own_customer():
    customer = CustomerFactory(name="Old")

    customer_update(actor=customer.sales_rep, customer=customer, name="New", address="Road 1")

    customer.refresh_from_db()
    assert (customer.name, customer.address) == ("New", "Road 1")
    assert customer.history.first().history_user == customer.sales_rep


def test_a_rep_cannot_touch_another_reps_customer():
    customer = CustomerFactory(name="Theirs")

    with pytest.raises(BusinessRuleError, match="cannot change this customer"):
        customer_update(actor=SalesRepFactory(), customer=customer, name="Mine")

    customer.refresh_from_db()
    assert customer.name == "Theirs"


def test_only_finance_or_a_manager_hands_a_customer_to_another_rep():
    customer = CustomerFactory()
    other = SalesRepFactory()

    with pytest.raises(BusinessRuleError, match="Only finance or a manager"):
        customer_update(actor=customer.sales_rep, customer=customer, sales_rep=other)
    customer_update(actor=ManagerFactory(), customer=customer, sales_rep=other)

    customer.refresh_from_db()
    assert customer.sales_rep == other


def test_credit_fields_cannot_be_changed_as_master_data():
    customer = CustomerFactory(credit_limit=Decimal("100.00"))

    with pytest.raises(BusinessRuleError, match="cannot be changed here: credit_limit"):
        customer_update(actor=FinanceUserFactory(), customer=customer, credit_limit="9999999")

    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("100.00")


def test_contacts_by_role_with_email_phone_and_im_handle():
    customer = CustomerFactory()

    contact = contact_create(
        actor=customer.sales_rep,
        customer=customer,
        name="Wang Li",
        role=Contact.Role.FINANCE,
        email="ap@customer.example",
        phone="+86 21 1234",
        im_handle="wechat:wangli",
    )

    contact.refresh_from_db()
    assert (contact.role, contact.email, contact.phone, contact.im_handle) == (
        "finance",
        "ap@customer.example",
        "+86 21 1234",
        "wechat:wangli",
    )
    assert contact.history.get().history_user == customer.sales_rep


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"role": "finance", "email": ""}, "email", "finance contact needs an email"),
        ({"role": "other", "email": "", "phone": "", "im_handle": ""}, "email", "at least one way"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"role": "boss"}, "role", "not a valid choice"),
        ({"name": ""}, "name", "cannot be blank"),
    ],
)
def test_bad_contact_input_is_refused(fields, field, message):
    customer = CustomerFactory()
    values = {"name": "Zhang", "role": "procurement", "email": "z@customer.example", **fields}

    with pytest.raises(BusinessRuleError, match=message) as refused:
        contact_create(actor=customer.sales_rep, customer=customer, **values)

    assert refused.value.field == field
    assert not Contact.objects.exists()


def test_a_rep_cannot_add_contacts_to_another_reps_customer():
    customer = CustomerFactory()

    with pytest.raises(BusinessRuleError, match="cannot change this customer"):
        contact_create(
            actor=SalesRepFactory(), customer=customer, name="X", role="other", phone="1"
        )

    assert not Contact.objects.exists()


def test_updating_and_removing_a_contact_keeps_its_history():
    contact = ContactFactory(role=Contact.Role.PROCUREMENT, email="old@customer.example")
    rep, pk = contact.customer.sales_rep, contact.pk

    contact_update(actor=rep, contact=contact, email="new@customer.example", role="finance")
    with pytest.raises(BusinessRuleError, match="finance contact needs an email"):
        contact_update(actor=rep, contact=contact, email="")
    contact_delete(actor=rep, contact=contact)

    assert not Contact.objects.exists()
    records = list(Contact.history.filter(id=pk).order_by("history_id"))
    assert [r.history_type for r in records] == ["+", "~", "-"]
    assert records[1].email == "new@customer.example"
    assert records[2].history_user == rep


def test_a_rep_cannot_remove_another_reps_contact():
    contact = ContactFactory()

    with pytest.raises(BusinessRuleError, match="cannot change this customer"):
        contact_delete(actor=SalesRepFactory(), contact=contact)

    assert Contact.objects.filter(pk=contact.pk).exists()
