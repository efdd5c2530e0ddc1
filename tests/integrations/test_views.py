"""The webhook and robot pages: roles, the secret shown once, replay, a bounded delivery log."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from core.domain_events import EventType
from integrations.models import Robot, WebhookAttempt, WebhookDelivery, WebhookSubscription
from integrations.services.robots import robot_register
from integrations.services.webhooks import webhook_subscription_create
from tests.factories.dunning import due_invoice, dunning_customer, pay
from tests.factories.users import FinanceUserFactory, ManagerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_finance_subscribes_and_sees_the_secret_once(client):
    finance = FinanceUserFactory()
    client.force_login(finance)

    response = client.post(
        reverse("integrations:webhook_list"),
        {
            "name": "ERP",
            "url": "https://erp.example.com/hooks",
            "event_types": ["invoice.paid", "payment.recorded"],
        },
    )

    subscription = WebhookSubscription.objects.get()
    assert subscription.event_types == ["invoice.paid", "payment.recorded"]
    assert subscription.secret.encode() in response.content
    detail = client.get(reverse("integrations:webhook_detail", args=[subscription.pk]))
    assert detail.status_code == 200
    assert subscription.secret.encode() not in detail.content
    assert subscription.secret[-4:].encode() in detail.content


def test_reps_and_managers_cannot_reach_the_webhook_pages(client):
    subscription = webhook_subscription_create(
        name="ERP",
        url="https://erp.example.com",
        event_types=["invoice.paid"],
        actor=FinanceUserFactory(),
    )
    for user in (SalesRepFactory(), ManagerFactory()):
        client.force_login(user)
        assert client.get(reverse("integrations:webhook_list")).status_code == 403
        assert (
            client.get(reverse("integrations:webhook_detail", args=[subscription.pk])).status_code
            == 403
        )


def test_replay_is_a_post_from_the_delivery_log(
    client, fake, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    finance = FinanceUserFactory()
    subscription = webhook_subscription_create(
        name="ERP",
        url=fake.route("/erp", kind="webhook"),
        event_types=list(EventType.values),
        actor=finance,
    )
    fake.routes["/erp"].secret = subscription.secret
    with time_machine.travel(NOON, tick=True):
        for _number in range(3):
            invoice = due_invoice(customer=dunning_customer(), due=NOON.date(), amount="10.00")
            with django_capture_on_commit_callbacks(execute=True):
                pay(invoice=invoice, amount="10.00", on=NOON.date())
    assert WebhookDelivery.objects.count() == 6  # payment.recorded and invoice.paid, three times
    client.force_login(finance)
    url = reverse("integrations:webhook_detail", args=[subscription.pk])
    with django_assert_max_num_queries(12):
        page = client.get(url)
    assert page.content.count(b"Replay") == 6
    delivery = WebhookDelivery.objects.order_by("pk").first()
    replay = reverse("integrations:webhook_replay", args=[subscription.pk, delivery.pk])

    assert client.get(replay).status_code == 405
    with time_machine.travel(NOON, tick=True), django_capture_on_commit_callbacks(execute=True):
        assert client.post(replay).status_code == 302

    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2
    assert len(fake.requests_to("/erp")) == 7


def test_a_rep_sees_and_registers_only_their_own_robots(client):
    rep, other = SalesRepFactory(), SalesRepFactory()
    theirs = robot_register(
        name="theirs",
        platform="wecom",
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=b",
        secret="",
        language="en",
        actor=other,
    )
    client.force_login(rep)

    response = client.post(
        reverse("integrations:robot_list"),
        {
            "name": "my group",
            "platform": "dingtalk",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=a",
            "secret": "SECabc",
            "language": "zh-hans",
            "send_digest": "on",
            "send_escalations": "on",
        },
    )

    assert response.status_code == 302
    mine = Robot.objects.get(owner=rep)
    assert mine.secret == "SECabc"
    assert list(mine.members.all()) == []
    listing = client.get(reverse("integrations:robot_list"))
    assert b"my group" in listing.content
    assert b"theirs" not in listing.content
    assert b"SECabc" not in listing.content
    assert client.get(reverse("integrations:robot_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("integrations:robot_toggle", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


def test_a_manager_registers_a_team_robot_carrying_reps_digests(client):
    manager, rep = ManagerFactory(), SalesRepFactory()
    client.force_login(manager)
    client.post(
        reverse("integrations:robot_list"),
        {
            "name": "team",
            "platform": "feishu",
            "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
            "language": "en",
            "members": [rep.pk, manager.pk],
            "send_digest": "on",
        },
    )
    robot = Robot.objects.get()
    assert set(robot.members.all()) == {rep, manager}
    assert not robot.send_escalations
