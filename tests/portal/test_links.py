"""Links: hashed, expiring, revocable, throttled, the same 404 for every bad token, no leaks."""

import io
import logging
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dunning.models import Communication
from dunning.services.send import communications_send
from portal.gunicorn_logging import MaskingLogger
from portal.log_masking import MaskPortalTokensFilter, mask_portal_tokens
from portal.models import PortalLink, token_hash
from portal.services.links import portal_link_create, portal_link_revoke
from portal.views import not_found
from tests.factories.cases import CommunicationFactory, DunningStepFactory
from tests.factories.users import FinanceUserFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


def _url(token: str) -> str:
    return reverse("portal:page", kwargs={"token": token})


def test_the_token_is_random_and_stored_only_hashed(book):
    link, token = portal_link_create(customer=book.customer)
    assert len(token) >= 43
    assert link.token_hash == token_hash(token) != token
    stored = PortalLink.objects.filter(pk=link.pk).values().get()
    assert token not in str(stored)
    assert link.expires_at - timezone.now() == pytest.approx(
        timedelta(days=30), abs=timedelta(seconds=60)
    )


def test_the_lifetime_comes_from_the_setting(book, settings):
    settings.PORTAL_LINK_DAYS = 7
    link, _token = portal_link_create(customer=book.customer)
    assert link.expires_at - timezone.now() < timedelta(days=7, minutes=1)


def test_a_wrong_an_expired_and_a_revoked_token_answer_the_same_404(client, book):
    expired, expired_token = portal_link_create(customer=book.customer)
    PortalLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked, revoked_token = portal_link_create(customer=book.customer)
    portal_link_revoke(link=revoked, actor=book.customer.sales_rep)

    assert client.get(_url(book.token)).status_code == 200
    answers = [
        client.get(_url(token)) for token in ("x" * 43, expired_token, revoked_token, "short")
    ]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.content for answer in answers}) == 1
    assert book.customer.name not in answers[0].content.decode()


def test_actions_are_refused_once_the_link_is_revoked(client, book):
    portal_link_revoke(link=book.link, actor=book.customer.sales_rep)
    response = client.post(
        reverse("portal:confirm", kwargs={"token": book.token}),
        {"name": "Ms Qian", "position": "CFO"},
    )
    assert response.status_code == 404
    assert not book.customer.balance_confirmations.exists()


def test_actions_are_refused_once_the_link_expired(client, book):
    PortalLink.objects.filter(pk=book.link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.post(
        reverse("portal:promise", kwargs={"token": book.token}),
        {
            "invoices": [book.invoices[0].pk],
            "amount": "100.00",
            "promised_date": "2026-03-20",
            "name": "Ms Qian",
        },
    )
    assert response.status_code == 404
    assert not book.customer.promises_to_pay.exists()


def test_another_rep_cannot_revoke(book):
    from core.exceptions import BusinessRuleError

    with pytest.raises(BusinessRuleError):
        portal_link_revoke(link=book.link, actor=SalesRepFactory())
    portal_link_revoke(link=book.link, actor=FinanceUserFactory())
    book.link.refresh_from_db()
    assert book.link.revoked_at is not None


def test_a_hundred_guesses_a_minute_from_one_address_are_throttled(client, book):
    for attempt in range(100):
        assert client.get(_url(f"guess-{attempt:040d}")).status_code == 404
    assert client.get(_url("guess-one-more")).status_code == 429
    # The right token from the same address waits too; another address is unaffected.
    assert client.get(_url(book.token)).status_code == 429
    assert client.get(_url(book.token), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_every_portal_answer_keeps_the_token_out_of_referers_and_caches(client, book):
    for response in (client.get(_url(book.token)), client.get(_url("nope" * 11))):
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
        body = response.content.decode()
        assert "http://" not in body.replace("http://www.w3.org", "")
        assert "https://" not in body


def _masking_handlers() -> list[logging.Handler]:
    handlers = [*logging.getLogger().handlers, *logging.getLogger("django.server").handlers]
    return [h for h in handlers if any(isinstance(f, MaskPortalTokensFilter) for f in h.filters)]


def test_request_logs_never_show_the_token(client, book):
    handlers = _masking_handlers()
    assert handlers, "the configured console handlers carry the masking filter"
    streams = [io.StringIO() for _handler in handlers]
    old = [handler.setStream(stream) for handler, stream in zip(handlers, streams, strict=True)]
    try:
        wrong = "w" * 43
        client.get(_url(wrong))  # django.request logs "Not Found: /p/<token>/"
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /p/{book.token}/?lang=en HTTP/1.1", 200, 512
        )
        try:
            raise ValueError(f"broke on /p/{book.token}/confirm/")
        except ValueError:
            logging.getLogger("portal.test").exception("failed on %s", f"/p/{book.token}/")
    finally:
        for handler, stream in zip(handlers, old, strict=True):
            handler.setStream(stream)
    written = "".join(stream.getvalue() for stream in streams)
    assert "/p/[token]/" in written
    assert wrong not in written
    assert book.token not in written


def test_gunicorn_access_lines_are_masked(book):
    from gunicorn.config import Config

    class Request:
        method = "GET"
        path = f"/p/{book.token}/"
        query = "lang=en"
        uri = f"/p/{book.token}/?lang=en"
        version = (1, 1)
        headers = [("REFERER", f"https://example.com/p/{book.token}/")]

    class Response:
        status = "200 OK"
        response_length = 10
        sent = 10
        headers = []

    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/p/{book.token}/?lang=en",
        "PATH_INFO": f"/p/{book.token}/",
        "QUERY_STRING": "lang=en",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://example.com/p/{book.token}/",
    }
    logger = MaskingLogger(Config())
    atoms = logger.atoms(Response(), Request(), environ, timedelta(seconds=1))
    line = Config().access_log_format % atoms
    assert book.token not in str(atoms)
    assert book.token not in line
    assert "/p/[token]/" in line


def test_mask_keeps_other_paths():
    assert mask_portal_tokens("GET /customers/12/ and /p/abc_DEF-123/x") == (
        "GET /customers/12/ and /p/[token]/x"
    )


def test_each_dunning_email_carries_a_fresh_link_that_is_not_stored(book, client):
    communication = CommunicationFactory(
        customer=book.customer,
        status=Communication.Status.PENDING,
        channels=["email"],
        level="reminder",
        recipient_email="ap@alpha.example",
        subject="Reminder",
        body="Please pay.\n",
    )
    DunningStepFactory(invoice=book.invoices[0], communication=communication, level="reminder")
    summary = communications_send(ids=[communication.pk])
    assert summary.sent == [communication.pk]
    body = mail.outbox[-1].body
    assert body.startswith("Please pay.")
    url = next(line for line in body.splitlines() if "/p/" in line)
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = PortalLink.objects.get(token_hash=token_hash(token))
    assert link.customer == book.customer
    assert link.communication == communication
    communication.refresh_from_db()
    assert token not in communication.body
    assert client.get(url.split("8000", 1)[1]).status_code == 200


def test_not_found_is_plain(rf):
    response = not_found(rf.get("/p/x/"))
    assert response.status_code == 404


@pytest.mark.redis
def test_the_throttle_counts_in_redis_where_every_web_process_sees_it(client, book, settings):
    import uuid

    from django.core.cache import caches

    from tests.services import require_redis

    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": require_redis(),
            "KEY_PREFIX": f"portal-test-{uuid.uuid4()}",
        },
    }
    for attempt in range(100):
        assert client.get(_url(f"guess-{attempt:040d}")).status_code == 404
    assert client.get(_url("guess-one-more")).status_code == 429
    # What another process would read: the count sits in Redis, not in this process
    keys = (
        caches["ratelimit"]
        ._cache.get_client()
        .keys(f"*{settings.CACHES['ratelimit']['KEY_PREFIX']}*")
    )
    assert keys


@time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
def test_a_statement_email_links_to_the_page_that_asks_to_confirm_its_closing_balance(
    client, mailoutbox
):
    from statements.models import Statement
    from statements.services.runs import statement_run, statements_send
    from tests.factories.statements import scheduled_customer

    # Given a customer on a monthly statement schedule, sent on the first working day
    customer = scheduled_customer(code="S-LINK")
    statement_run(as_of=date(2026, 12, 1))
    statements_send()

    # Then the email carries a link, stored only hashed, for the statement's closing date
    [message] = mailoutbox
    [url] = re.findall(r"https?://\S+/p/\S+", message.body)
    token = url.rstrip("/").split("/p/")[1].split("/")[0]
    assert token not in str(list(PortalLink.objects.values()))
    link = PortalLink.objects.get(customer=customer)
    assert link.as_of == date(2026, 11, 30)
    # and the page it opens lists the sent statement with its closing balance
    page = client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    assert page.status_code == 200
    text = page.content.decode()
    statement = Statement.objects.get()
    assert f"{statement.closing:,.2f}" in text
    assert "2026-11-30" in text
