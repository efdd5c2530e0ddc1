"""Every URL of the project, asked by a sales rep for another rep's objects, answers 404 (or 403).

The walk iterates `get_resolver()`: a pattern added tomorrow is walked
tomorrow. Each `<int:...>` parameter is filled with the id of another rep's
object of the model the parameter names (`pk` takes the model the URL name
starts with: `invoice_deliver` → Invoice; `customer_pk` → Customer;
`OVERRIDES` settles the names that say otherwise). That the id is of the
right model is checked, not assumed: an admin, who sees everything, must not
get a 404 for the same URL. URLs without parameters (lists, dashboards,
exports) must not show the other rep's names and numbers to the rep.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from contracts.models import SupplementaryAgreement
from dashboards.tables import TABLES
from receivables.models import Invoice
from statements.models import Statement, StatementSchedule
from tests.factories.cases import (
    AgreementInstalmentFactory,
    CaseEventFactory,
    CollectionCaseFactory,
    CommunicationFactory,
    DisputeFactory,
    DunningStepFactory,
    PromiseToPayFactory,
    SupplementaryAgreementFactory,
)
from tests.factories.contracts import (
    ContractFactory,
    DeliveryRecordFactory,
    PaymentMilestoneFactory,
)
from tests.factories.credit import CreditAssessmentFactory
from tests.factories.customers import ContactFactory, CustomerFactory
from tests.factories.invoices import (
    CreditNoteFactory,
    InvoiceFactory,
    PaymentAllocationFactory,
    PaymentFactory,
)
from tests.factories.users import SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db

SKIPPED_NAMESPACES = {"admin"}  # staff only; a rep is sent to the admin login (tested below)
# The reset link's parameters are a signed user id and token, no object of anyone's scope.
SKIPPED_NAMES = {"login", "logout", "set_language", "healthz", "password_reset_confirm"}
# The customer's page answers to a link's token, no user's scope: tests/portal/test_isolation.py
# walks each of these with another customer's token.
SKIPPED_ROUTES = {
    "portal:page",
    "portal:confirm",
    "portal:dispute",
    "portal:promise",
    "portal:request",
    "portal:proof",
    "portal:letter",
    "portal:confirmation_pdf",
    "portal:statement_pdf",
}
APPS = (
    "receivables",
    "contracts",
    "dunning",
    "statements",
    "portal",
    "integrations",
    "banking",
    "bills",
)
# Words URL names use for a model, besides the model's own snake_case name.
ALIASES = {
    "assessment": "credit_assessment",
    "agreement": "supplementary_agreement",
    "case": "collection_case",
    "letter": "communication",
    "message": "communication",
    "milestone": "payment_milestone",
    "promise": "promise_to_pay",
    "proof": "delivery_record",
    "task": "collection_task",
    "instalment": "agreement_instalment",
    "link": "portal_link",
    "webhook": "webhook_subscription",
    "delivery": "webhook_delivery",
    "receipt": "bank_receipt",
    "claim": "receipt_claim",
    "bill": "acceptance_bill",
}
# Models only finance reaches (a rep gets 403), walked like the scoped ones.
FINANCE_ONLY = ("integrations.WebhookSubscription", "integrations.WebhookDelivery")
# URL name -> {parameter: model key} where the name's first words name something else.
OVERRIDES = {
    "receivables:credit_note_create": {"pk": "invoice"},
    "contracts:delivery_record_create": {"pk": "contract"},
    "banking:claim_create": {"pk": "bank_receipt"},
}
# Statuses that are no answer at all for a rep asking for another rep's object.
REFUSED = {403, 404}
SECRET_MARKERS = ("ZZ-SECRET", "Secret Rival Trading", "ZZINV-", "ZZHT-", "ZZSA-", "ZZBILL-")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def scoped_models() -> dict[str, type]:
    """Every model users can reach (it declares `scope_owner_path`), by snake_case name."""
    models = {
        snake(model.__name__): model
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if hasattr(model, "scope_owner_path")
    }
    for label in FINANCE_ONLY:
        model = apps.get_model(label)
        models[snake(model.__name__)] = model
    for alias, key in ALIASES.items():
        models.setdefault(alias, models[key])
    return models


@dataclass(frozen=True)
class Route:
    name: str  # namespaced: "receivables:invoice_detail"
    params: tuple[tuple[str, str], ...]  # (parameter, converter class name)


def routes(resolver=None, namespace: str = "", converters=()) -> list[Route]:
    """Every named URL pattern of the project with its path parameters."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        own = tuple(
            (name, type(converter).__name__)
            for name, converter in getattr(entry.pattern, "converters", {}).items()
        )
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace else (entry.namespace or "")
            if (entry.namespace or "") in SKIPPED_NAMESPACES:
                continue
            found += routes(entry, inner.strip(":"), converters + own)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            if entry.name in SKIPPED_NAMES or name in SKIPPED_ROUTES:
                continue
            if re.search(r"\(\?P<", str(entry.pattern)) and not own:
                raise AssertionError(f"{name}: regex parameters; give it a path() route")
            found.append(Route(name=name, params=converters + own))
    return found


def model_for(route: Route, param: str, models: dict[str, type]) -> str:
    """The model key a parameter names: `<model>_pk`, or the model the URL name starts with."""
    override = OVERRIDES.get(route.name, {}).get(param)
    if override:
        return override
    if param != "pk":
        key = param.removesuffix("_pk").removesuffix("_id")
        if key in models:
            return key
        raise AssertionError(f"{route.name}: cannot tell the model of <{param}>; add an OVERRIDE")
    words = route.name.split(":")[-1].split("_")
    for end in range(len(words), 0, -1):
        key = "_".join(words[:end])
        if key in models:
            return key
    raise AssertionError(f"{route.name}: cannot tell the model of <pk>; add an OVERRIDE")


@pytest.fixture
def rival_world():
    """Another rep's objects of every model users can reach, and what would betray them.

    Each model's object has its own id (101, 202, ...), so an id filled in for the wrong
    model finds nothing and the admin check below says so.
    """
    rival = SalesRepFactory(username="rival")
    customer = CustomerFactory(
        id=101, sales_rep=rival, code="ZZ-SECRET", name="Secret Rival Trading"
    )
    contract = ContractFactory(id=202, customer=customer, number="ZZHT-0001", status="active")
    invoice = InvoiceFactory(
        id=303,
        customer=customer,
        number="ZZINV-0001",
        contract_number=contract.number,
        delivered_at=timezone.now(),
    )
    milestone = PaymentMilestoneFactory(id=404, contract=contract, invoice=invoice, sequence=1)
    payment = PaymentFactory(id=505, customer=customer, reference="ZZPAY-1")
    agreement = SupplementaryAgreementFactory(
        id=606,
        customer=customer,
        number="ZZSA-0001",
        invoices=[invoice],
        status=SupplementaryAgreement.Status.PROPOSED,
    )
    case = CollectionCaseFactory(id=707, customer=customer)
    communication = CommunicationFactory(id=808, customer=customer)
    communication.letter_pdf.save("letter.pdf", _pdf_file(), save=True)
    objects = {
        "customer": customer,
        "contact": ContactFactory(id=909, customer=customer, name="Secret Rival Trading AP"),
        "credit_assessment": CreditAssessmentFactory(
            id=1010, customer=customer, requested_by=rival
        ),
        "invoice": invoice,
        "payment": payment,
        "payment_allocation": PaymentAllocationFactory(id=1111, payment=payment, invoice=invoice),
        "credit_note": CreditNoteFactory(id=1212, invoice=invoice, number="ZZCN-1"),
        "contract": contract,
        "payment_milestone": milestone,
        "delivery_record": DeliveryRecordFactory(id=1313, contract=contract),
        "supplementary_agreement": agreement,
        "agreement_instalment": AgreementInstalmentFactory(id=1414, agreement=agreement),
        "collection_case": case,
        "dispute": DisputeFactory(id=1515, customer=customer, case=case, invoices=[invoice]),
        "promise_to_pay": PromiseToPayFactory(
            id=1616, customer=customer, case=case, invoices=[invoice]
        ),
        "case_event": CaseEventFactory(id=1717, customer=customer, case=case),
        "communication": communication,
        "dunning_step": DunningStepFactory(id=1818, invoice=invoice, communication=communication),
        "collection_task": _task(id=1919, customer=customer, case=case, assignee=rival),
        "statement": Statement.objects.create(
            id=2020,
            customer=customer,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 1, 31),
            business_date=date(2026, 2, 2),
            currency=customer.currency,
            closing=Decimal("1.00"),
            status=Statement.Status.FAILED,
        ),
        "statement_schedule": StatementSchedule.objects.create(id=2121, customer=customer),
        "portal_link": _portal_link(id=2222, customer=customer),
        "acceptance_bill": _bill(id=3030, customer=customer),
    }
    objects["portal_dispute_attachment"] = _attachment(id=2323, dispute=objects["dispute"])
    objects.update(_integrations(rival=rival, customer=customer))
    objects["bank_receipt"], objects["receipt_claim"] = _claimed_receipt(customer, rival)
    return objects


def _integrations(*, rival, customer) -> dict[str, object]:
    from integrations.models import OutboundEvent, Robot, WebhookDelivery, WebhookSubscription

    robot = Robot.objects.create(
        id=2424,
        name="Secret Rival Trading robot",
        platform=Robot.Platform.WECOM,
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=zz",
        owner=rival,
    )
    webhook = WebhookSubscription.objects.create(
        id=2525, name="ZZ-SECRET ERP", url="https://erp.example.com", secret="whsec_zz"
    )
    event = OutboundEvent.objects.create(id=2626, type="invoice.paid", customer=customer)
    delivery = WebhookDelivery.objects.create(id=2727, event=event, subscription=webhook)
    return {"robot": robot, "webhook_subscription": webhook, "webhook_delivery": delivery}


def _claimed_receipt(customer, rival):
    """A receipt the rival claimed for their customer: no longer offered to other reps."""
    from banking.models import BankAccount, BankReceipt, ReceiptClaim

    account = BankAccount.objects.create(code="ZZ-BANK", number="1", currency="CNY")
    receipt = BankReceipt.objects.create(
        id=2828,
        bank_account=account,
        transaction_id="ZZ-TX-1",
        date=timezone.localdate(),
        amount=1,
        currency="CNY",
        payer_name="Secret Rival Trading",
        status=BankReceipt.Status.CLAIMED,
        customer=customer,
    )
    claim = ReceiptClaim.objects.create(
        id=2929, receipt=receipt, customer=customer, claimed_by=rival
    )
    return receipt, claim


def _bill(**fields):
    from datetime import date
    from decimal import Decimal

    from bills.models import AcceptanceBill

    customer = fields["customer"]
    payment = PaymentFactory(id=2121, customer=customer, reference="ZZBILL-1")
    return AcceptanceBill.objects.create(
        number="ZZBILL-1",
        kind=AcceptanceBill.Kind.BANK,
        acceptor="Secret Rival Bank",
        drawer="Secret Rival Trading",
        issue_date=date(2026, 1, 1),
        maturity_date=timezone.localdate(),
        face_amount=Decimal("500.00"),
        currency=customer.currency,
        received_on=date(2026, 2, 1),
        payment=payment,
        **fields,
    )


def _pdf_file():
    from django.core.files.base import ContentFile

    from tests.factories.contracts import PDF_BYTES

    return ContentFile(PDF_BYTES)


def _task(**fields):
    from dunning.models import CollectionTask

    return CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL, title="Call", due_date=timezone.localdate(), **fields
    )


def _portal_link(**fields):
    from portal.models import PortalLink

    return PortalLink.objects.create(
        token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=1), **fields
    )


def _attachment(**fields):
    from portal.models import PortalDisputeAttachment

    attachment = PortalDisputeAttachment(original_name="ZZ-SECRET.pdf", **fields)
    attachment.file.save("a.pdf", _pdf_file(), save=False)
    attachment.save()
    return attachment


def _rolled_back(call):
    """Run a request whose effects, if any, are undone (a POST that got through)."""
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


def test_every_url_with_ids_of_another_reps_objects_answers_404_to_a_sales_rep(client, rival_world):
    models = scoped_models()
    rep = SalesRepFactory(username="curious")
    CustomerFactory(sales_rep=rep, code="MINE-1")
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    walked = 0
    problems = []
    for route in routes():
        if not route.params:
            continue
        kwargs = {}
        for param, converter in route.params:
            if converter != "IntConverter":
                problems.append(
                    f"{route.name}: <{converter} {param}> is not walked; extend the test"
                )
                continue
            key = model_for(route, param, models)
            kwargs[param] = rival_world[ALIASES.get(key, key)].pk
        if len(kwargs) != len(route.params):
            continue
        url = reverse(route.name, kwargs=kwargs)
        walked += 1

        # The ids are those of the right models: someone who sees everything finds them.
        client.force_login(admin)
        seen = _rolled_back(lambda url=url: client.get(url)).status_code
        if seen == 405:
            seen = _rolled_back(lambda url=url: client.post(url, {})).status_code
        if seen == 404:
            problems.append(f"{route.name} {url}: 404 for an admin too; wrong model for the ids?")

        # The rep gets nothing, whatever the method.
        client.force_login(rep)
        got = _rolled_back(lambda url=url: client.get(url)).status_code
        posted = _rolled_back(lambda url=url: client.post(url, {})).status_code
        if not ({got, posted} <= REFUSED | {405} and {got, posted} & REFUSED):
            problems.append(f"{route.name} {url}: rep got GET {got}, POST {posted}")
    assert walked >= 20, walked
    assert not problems, "\n".join(problems)


def test_lists_dashboards_and_exports_never_show_a_rep_another_reps_customers(client, rival_world):
    rep = SalesRepFactory(username="curious")
    mine = CustomerFactory(sales_rep=rep, code="MINE-1", name="My Own Client")
    InvoiceFactory(customer=mine, number="MYINV-1")
    client.force_login(rep)
    problems = []
    urls = [reverse(route.name) for route in routes() if not route.params]
    urls += [
        f"{reverse('dashboards:export')}?table={table}&format={file_format}"
        for table in TABLES
        for file_format in ("csv", "xlsx")
    ]
    urls += [
        f"{reverse('dashboards:ageing_invoices')}?rep={rival_world['customer'].sales_rep_id}",
        f"{reverse('dashboards:rep_home')}?q=ZZ",
    ]
    for url in urls:
        response = client.get(url)
        if response.status_code in (403, 404, 405):
            continue
        assert response.status_code in (200, 302), (url, response.status_code)
        body = _text(response)
        leaked = [marker for marker in SECRET_MARKERS if marker in body]
        if leaked:
            problems.append(f"{url}: shows {leaked}")
    assert not problems, "\n".join(problems)


def test_admin_pages_send_a_rep_to_the_admin_login(client, rival_world):
    client.force_login(SalesRepFactory())
    response = client.get(f"/admin/receivables/invoice/{rival_world['invoice'].pk}/change/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_the_walk_knows_every_parameter_of_every_url():
    models = scoped_models()
    for route in routes():
        for param, converter in route.params:
            assert converter == "IntConverter", (route.name, param, converter)
            assert model_for(route, param, models)
    assert Invoice in scoped_models().values()


def _text(response) -> str:
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        import io

        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(response.content))
        return " ".join(
            str(cell)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        )
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")
