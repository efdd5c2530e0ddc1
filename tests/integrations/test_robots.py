"""Group robots against a local fake platform: signatures, limits, batching, scope, digests."""

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.domain_events import EventType
from dunning.models import CollectionTask
from integrations.models import OutboundEvent, Robot, RobotMessage, RobotNotice
from integrations.services import limiter
from integrations.services.outbox import events_fan_out
from integrations.services.robots import robot_digests_queue, robot_flush_all, robot_register
from integrations.tasks import integrations_sweep_task
from tests.factories.customers import CustomerFactory
from tests.factories.users import ManagerFactory, SalesRepFactory
from tests.services import require_redis

pytestmark = pytest.mark.django_db

D = date(2026, 3, 3)  # a Tuesday
MORNING = datetime(2026, 3, 3, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TASKS = 1000


@pytest.fixture(params=["db", "redis"])
def limiter_backend(request, settings):
    """Both limiters: the database's, and Redis's (a private key prefix on the task's db)."""
    if request.param == "redis":
        # Skipped without Redis, failed in CI, like every Redis test (tests/services.py).
        settings.REDIS_URL = require_redis()
        settings.ROBOT_LIMITER_PREFIX = f"test:{uuid.uuid4().hex}"
        limiter._redis_client = None
    settings.ROBOT_LIMITER = request.param
    yield request.param
    limiter._redis_client = None


def register(owner, url: str, platform: str, **kwargs) -> Robot:
    return robot_register(
        name=f"{platform} group",
        platform=platform,
        webhook_url=url,
        secret=kwargs.pop("secret", ""),
        language=kwargs.pop("language", "en"),
        actor=owner,
        **kwargs,
    )


def escalations(customers, count: int) -> None:
    """`count` escalation events on these customers, fanned out to the robots."""
    OutboundEvent.objects.bulk_create(
        OutboundEvent(
            type=EventType.DUNNING_CASE_ESCALATED,
            customer=customers[n % len(customers)],
            params={
                "customer_code": customers[n % len(customers)].code,
                "level": "executive",
                "items": [f"INV-{n:04d}"],
            },
        )
        for n in range(count)
    )
    while events_fan_out().events:
        pass


def max_in_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    best = 0
    start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(
    ("platform", "limits"),
    [
        (Robot.Platform.DINGTALK, ((20, 60),)),
        (Robot.Platform.WECOM, ((20, 60),)),
        (Robot.Platform.FEISHU, ((100, 60), (5, 1))),
    ],
)
def test_a_thousand_task_morning_stays_under_the_limit_and_loses_nothing(
    fake, settings, limiter_backend, platform, limits
):
    settings.ROBOT_NOTICES_PER_MESSAGE = 10  # many messages, so the limiter has work
    rep = SalesRepFactory()
    customers = [CustomerFactory(sales_rep=rep) for _n in range(20)]
    url = fake.route("/robot", kind=platform, limits=limits, secret="SEC123")
    robot = register(rep, url, platform, secret="SEC123")

    with time_machine.travel(MORNING, tick=False) as clock:
        escalations(customers, TASKS)
        # The sweep every 30 s, and a flush after each new batch of events, for 20 minutes
        for second in range(0, 20 * 60, 1 if platform == Robot.Platform.FEISHU else 30):
            clock.move_to(MORNING + timedelta(seconds=second))
            integrations_sweep_task()
            robot_flush_all(robot_id=robot.pk)
            if not RobotNotice.objects.filter(message__isnull=True).exists():
                break

    received = fake.requests_to("/robot")
    answers = Counter(RobotMessage.objects.filter(robot=robot).values_list("errcode", flat=True))
    # The fake never had to refuse: the limiter kept every window under the limit
    assert set(answers) == {0}
    for limit, seconds in limits:
        assert max_in_window([item.at for item in received], seconds) <= limit
    if platform != Robot.Platform.WECOM:  # WeCom robots are not signed
        assert all(item.signature_ok for item in received)
    # Nothing dropped: every escalation went out in some message, once
    assert not RobotNotice.objects.filter(message__isnull=True).exists()
    text = "\n".join(str(item.json()) for item in received)
    assert all(f"INV-{n:04d}" in text for n in range(TASKS))
    assert len(received) == TASKS // 10


def test_a_rate_limit_answer_keeps_the_notices_and_rests_the_robot(fake, settings):
    settings.ROBOT_LIMITER = "db"
    settings.ROBOT_NOTICES_PER_MESSAGE = 1
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    # The platform allows fewer messages than documented (a shared robot, say)
    url = fake.route("/ding", kind="dingtalk", limits=((3, 60),))
    robot = register(rep, url, Robot.Platform.DINGTALK)

    with time_machine.travel(MORNING, tick=False) as clock:
        escalations([customer], 5)
        robot_flush_all(robot_id=robot.pk)
        robot.refresh_from_db()
        # The fourth was refused with DingTalk's 130101: the robot rests ten minutes
        assert [item.json()["msgtype"] for item in fake.requests_to("/ding")] == ["markdown"] * 4
        assert RobotMessage.objects.filter(errcode=130101).count() == 1
        assert robot.blocked_until == MORNING + timedelta(minutes=10)
        assert RobotNotice.objects.filter(message__isnull=True).count() == 2
        clock.move_to(MORNING + timedelta(minutes=5))
        integrations_sweep_task()
        assert len(fake.requests_to("/ding")) == 4
        clock.move_to(MORNING + timedelta(minutes=10, seconds=1))
        integrations_sweep_task()

    assert not RobotNotice.objects.filter(message__isnull=True).exists()
    assert RobotMessage.objects.filter(status=RobotMessage.Status.SENT).count() == 5


def test_wecom_and_feishu_rate_limit_codes_are_understood(fake, settings):
    settings.ROBOT_LIMITER = "db"
    rep = SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep)
    wecom = register(rep, fake.route("/wecom", kind="wecom", limits=((0, 60),)), "wecom")
    feishu = register(rep, fake.route("/feishu", kind="feishu", limits=((0, 60),)), "feishu")
    with time_machine.travel(MORNING, tick=False):
        escalations([customer], 1)
        robot_flush_all(robot_id=wecom.pk)
        robot_flush_all(robot_id=feishu.pk)
    assert sorted(RobotMessage.objects.values_list("errcode", flat=True)) == [9499, 45009]
    assert RobotNotice.objects.filter(message__isnull=True).count() == 2


def test_escalations_reach_only_robots_whose_owner_sees_the_customer(fake, settings):
    settings.ROBOT_LIMITER = "db"
    mine, theirs = SalesRepFactory(), SalesRepFactory()
    my_customer = CustomerFactory(sales_rep=mine, name="Mine Ltd")
    their_customer = CustomerFactory(sales_rep=theirs, name="Theirs Ltd")
    my_robot = register(mine, fake.route("/mine", kind="wecom"), "wecom")
    team_robot = register(ManagerFactory(), fake.route("/team", kind="wecom"), "wecom")

    with time_machine.travel(MORNING, tick=False):
        escalations([my_customer, their_customer], 2)
        robot_flush_all(robot_id=my_robot.pk)
        robot_flush_all(robot_id=team_robot.pk)

    (mine_message,) = fake.requests_to("/mine")
    assert "Mine Ltd" in mine_message.json()["markdown"]["content"]
    assert "Theirs Ltd" not in mine_message.body.decode()
    (team_message,) = fake.requests_to("/team")
    assert "Theirs Ltd" in team_message.json()["markdown"]["content"]


def _call(customer, assignee, title="Call about INV"):
    return CollectionTask.objects.create(
        kind=CollectionTask.Kind.CALL,
        customer=customer,
        assignee=assignee,
        title=title,
        due_date=D,
    )


def test_the_morning_digest_is_one_message_per_robot_scoped_to_its_owner(fake, settings):
    settings.ROBOT_LIMITER = "db"
    settings.SITE_URL = "https://huikuan.example.com"
    rep, other = SalesRepFactory(username="rep_a"), SalesRepFactory(username="rep_b")
    mine = CustomerFactory(sales_rep=rep, name="Mine Ltd")
    theirs = CustomerFactory(sales_rep=other, name="Theirs Ltd")
    for n in range(TASKS):
        _call(mine, rep, title=f"Call {n}")
    _call(theirs, other)
    _call(theirs, None)  # unassigned: any rep with the customer may take it
    robot = register(rep, fake.route("/mine", kind="dingtalk"), "dingtalk", language="zh-hans")
    # Even a robot whose member list was changed behind the service carries only its owner's scope
    robot.members.add(rep, other)
    manager = ManagerFactory()
    team = robot_register(
        name="team",
        platform="wecom",
        webhook_url=fake.route("/team", kind="wecom"),
        secret="",
        language="en",
        actor=manager,
        members=[rep, other],
    )

    with time_machine.travel(MORNING, tick=False):
        robot_digests_queue(as_of=D)
        robot_digests_queue(as_of=D)  # a second beat queues nothing more
        robot_flush_all(robot_id=robot.pk)
        robot_flush_all(robot_id=team.pk)

    (message,) = fake.requests_to("/mine")
    text = message.json()["markdown"]["text"]
    assert "Mine Ltd" in text
    assert "Theirs Ltd" not in text
    assert "https://huikuan.example.com/customers/" in text
    assert f"({TASKS})" in text  # the count, with the first rows and a link to the rest
    assert "早上好" in text
    (team_message,) = fake.requests_to("/team")
    team_text = team_message.json()["markdown"]["content"]
    assert "Mine Ltd" in team_text
    assert "Theirs Ltd" in team_text
    assert "### rep_a" in team_text
    assert "### rep_b" in team_text


def test_a_rep_cannot_carry_another_reps_digest():
    rep, other = SalesRepFactory(), SalesRepFactory()
    with pytest.raises(Exception, match="Only finance and managers"):
        robot_register(
            name="x",
            platform="wecom",
            webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
            secret="",
            language="en",
            actor=rep,
            members=[other],
        )
    assert not Robot.objects.exists()


def test_finance_and_managers_get_their_own_sections_and_broken_promises_go_at_once(
    fake, settings, django_capture_on_commit_callbacks
):
    from dunning.services.promises import promise_review, promise_to_pay_record
    from tests.factories.cases import CommunicationFactory
    from tests.factories.dunning import due_invoice
    from tests.factories.users import FinanceUserFactory

    settings.ROBOT_LIMITER = "db"
    finance, manager, rep = FinanceUserFactory(), ManagerFactory(), SalesRepFactory()
    customer = CustomerFactory(sales_rep=rep, name="Late Payer Ltd")
    CommunicationFactory(customer=customer)
    CollectionTask.objects.create(
        kind=CollectionTask.Kind.LEGAL_REFERRAL,
        customer=customer,
        assignee=manager,
        title="Refer to counsel",
        due_date=D,
    )
    robot = robot_register(
        name="desk",
        platform="feishu",
        webhook_url=fake.route("/desk", kind="feishu", secret="FSEC"),
        secret="FSEC",
        language="en",
        actor=manager,
        members=[finance, manager],
    )
    mine = register(rep, fake.route("/rep", kind="wecom"), "wecom", send_digest=False)

    with time_machine.travel(MORNING, tick=False):
        robot_digests_queue(as_of=D)
        robot_flush_all(robot_id=robot.pk)
    (digest,) = fake.requests_to("/desk")
    assert digest.signature_ok
    text = digest.json()["content"]["text"]
    assert "Letters to approve (1)" in text
    assert "Escalations (1)" in text
    assert "Refer to counsel" in text

    # A promise broken in the review reaches the rep's robot at once
    invoice = due_invoice(customer=customer, due=D - timedelta(days=5), amount="800.00")
    with time_machine.travel(MORNING, tick=False):
        promise_to_pay_record(
            customer=customer,
            invoices=[invoice],
            amount="800.00",
            promised_date=D + timedelta(days=1),
            note="",
            actor=rep,
            as_of=D,
        )
    later = MORNING + timedelta(days=6)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        promise_review(as_of=later.date())
    (alert,) = fake.requests_to("/rep")
    assert "Late Payer Ltd" in alert.json()["markdown"]["content"]
    assert "800.00" in alert.json()["markdown"]["content"]
    assert mine.messages.get().notice_count == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_robot_page_sends_a_test_message_in_the_robots_language(
    fake, settings, client, django_capture_on_commit_callbacks, language
):
    settings.ROBOT_LIMITER = "db"
    rep = SalesRepFactory()
    url = fake.route("/ding", kind="dingtalk", secret="SECdemo", limits=((20, 60),))
    robot = register(rep, url, Robot.Platform.DINGTALK, secret="SECdemo", language=language)
    client.force_login(rep)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/integrations/robots/{robot.pk}/test/")

    assert response.status_code == 302
    (received,) = fake.requests_to("/ding")
    assert received.signature_ok
    text = received.json()["markdown"]["text"]
    expected = {"en": "Test message from Huikuan", "zh-hans": "回款测试消息"}[language]
    assert expected in text
    assert robot.name in text
    message = RobotMessage.objects.get(robot=robot)
    assert message.status == RobotMessage.Status.SENT
    assert not RobotNotice.objects.filter(message__isnull=True).exists()
    page = client.get(f"/integrations/robots/{robot.pk}/")
    assert message.get_status_display() in page.content.decode()


def test_only_who_reaches_the_robot_can_test_it(fake, settings, client):
    settings.ROBOT_LIMITER = "db"
    owner, other = SalesRepFactory(), SalesRepFactory()
    robot = register(owner, fake.route("/wecom", kind="wecom"), Robot.Platform.WECOM)
    client.force_login(other)

    assert client.post(f"/integrations/robots/{robot.pk}/test/").status_code == 404
    assert client.get(f"/integrations/robots/{robot.pk}/test/").status_code == 405
    assert not RobotNotice.objects.exists()
    assert fake.requests_to("/wecom") == []
