"""finance1 subscribes a receiver, copies the secret shown once, and replays a delivery."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.models import WebhookAttempt, WebhookSubscription
from integrations.services.outbox import events_fan_out
from integrations.services.webhooks import webhook_deliveries_send
from tests.factories.dunning import due_invoice, dunning_customer, pay
from tests.factories.users import FinanceUserFactory
from tests.integrations.fake_servers import fake_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_finance_subscribes_sees_the_secret_once_and_replays(live_server, page: Page):
    FinanceUserFactory(username="finance1")
    with fake_server() as fake:
        url = fake.route("/erp", kind="webhook")
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("finance1")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        page.goto(f"{live_server.url}/integrations/webhooks/")
        page.get_by_label("Name").fill("Kingdee")
        page.get_by_label("URL").fill(url)
        page.get_by_label("Payment recorded").check()
        page.get_by_role("button", name="Subscribe").click()

        subscription = WebhookSubscription.objects.get()
        expect(page.get_by_text(subscription.secret)).to_be_visible()
        fake.routes["/erp"].secret = subscription.secret

        today = timezone.localdate()
        invoice = due_invoice(customer=dunning_customer(), due=today, amount="100.00")
        pay(invoice=invoice, amount="100.00", on=today)
        events_fan_out()
        webhook_deliveries_send(subscription_id=subscription.pk)

        page.get_by_role("link", name="Back to the subscription").click()
        expect(page.get_by_text("payment.recorded")).to_be_visible()
        expect(page.get_by_text(subscription.secret)).to_have_count(0)
        page.get_by_role("button", name="Replay").click()
        expect(page.get_by_text("The event will be posted again in a moment.")).to_be_visible()

        webhook_deliveries_send(subscription_id=subscription.pk)
        assert WebhookAttempt.objects.count() == 2
        first, second = fake.requests_to("/erp")
        assert first.signature_ok
        assert second.signature_ok
        assert first.json()["id"] == second.json()["id"]
