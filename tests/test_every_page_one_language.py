"""Every page of every role, read in Chinese and in English, is in that one language.

The walk takes every URL of the project (`tests.test_url_scoping.routes`: a page added
tomorrow is walked tomorrow), fills each id with an object the user may see in the
seeded demo, and reads the page's visible text, leaving out what a person typed
(marked `data-typed`) and text marked with another `lang` (the language switcher).
Dashboard tables are read as their CSV exports too.

- A Chinese page fails on an English catalogue string shown untranslated (a text
  node equal to a msgid the catalogue translates, or a literal piece of one of our
  msgids with parameters) and on the English sentences the issue found stored.
- An English page fails on Chinese that is not stored data: every run of Chinese
  characters must be part of something stored in the database (a customer's name,
  a note a rep typed, a message in the customer's language).
"""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from core.scoping import scope_for_user
from dashboards.tables import TABLES
from tests.test_url_scoping import model_for, routes, scoped_models

pytestmark = pytest.mark.django_db

ROLES = ("rep1", "finance1", "manager1", "admin")
ACCEPT = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff01-\uff5e]+")
# Sentences the issue found stored in English and shown on Chinese pages.
STORED_ENGLISH = (
    "about overdue",
    "No email address for",
    "to their management",
    "Print the demand letter",
    "Case opened: items overdue on",
    "Reminder sent to",
    "put on credit hold",
    "not sent:",
    "within the grade",
    "carried out for",
    "Legal referral by the dunning ladder",
)
# URLs that are actions (GET shows nothing) or files that are not text.
SKIPPED = {"core:logout"}


class _Text(HTMLParser):
    """Visible text nodes, without scripts, styles, typed text or text in another language."""

    SKIP_TAGS = frozenset({"script", "style", "textarea", "template"})
    VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"})

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack: list[bool] = []  # whether each open element hides its text
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attributes = dict(attrs)
        lang = attributes.get("lang")
        hidden = (
            tag in self.SKIP_TAGS
            or "data-typed" in attributes
            or (lang is not None and tag != "html" and not lang.startswith(self.language[:2]))
        )
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not (self.stack and self.stack[-1]):
            self.nodes.append(text)


def visible_text(html: str, language: str) -> list[str]:
    parser = _Text(language)
    parser.feed(html)
    return parser.nodes


def _catalogue() -> tuple[set[str], list[str]]:
    """English strings the Chinese catalogue translates: whole msgids, and literal pieces
    (two words or more) of our own msgids with parameters."""
    catalog = trans_real.translation("zh-hans")._catalog
    whole, pieces = set(), set()
    for key, value in catalog.items():
        if not isinstance(key, str) or "\x04" in key or value == key:
            continue
        if not re.search(r"[A-Za-z]{3}", key):
            continue
        if "%(" in key or "%s" in key:
            for piece in re.split(r"%\(\w+\)[sd]|%s|%d|\{[^}]*\}", key):
                piece = piece.strip(" :;,.()—-")
                if len(piece) >= 12 and " " in piece and re.search(r"[a-z]{3}", piece):
                    pieces.add(piece)
        elif len(key) >= 4:
            whole.add(" ".join(key.split()))
    return whole, sorted(pieces)


def _stored_text() -> str:
    """Every text value stored in the database: what people typed and what went out."""
    chunks = []
    for model in apps.get_models():
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if fields:
            for row in model._default_manager.values_list(*fields):
                chunks.extend(str(value) for value in row if value)
    return "\n".join(chunks)


def _pages(user, routes_, models_) -> list[tuple[str, str]]:
    pages = []
    for route in routes_:
        if route.name in SKIPPED:
            continue
        kwargs = {}
        for param, _converter in route.params:
            model = models_[model_for(route, param, models_)]
            rows = model._default_manager.order_by("-pk")
            # Models without an owner (finance's webhooks) are whole for those who reach them.
            if hasattr(model, "scope_owner_path"):
                rows = scope_for_user(rows, user)
            found = rows.first()
            if found is None:
                break
            kwargs[param] = found.pk
        else:
            pages.append((route.name, reverse(route.name, kwargs=kwargs)))
    export = reverse("dashboards:export")
    pages += [(f"export:{name}", f"{export}?table={name}&format=csv") for name in TABLES]
    return pages


@pytest.fixture
def book(seeded_demo):
    """The demo, plus a rep's Chinese notes on a case, written from a Chinese session."""
    from dunning.models import CollectionCase
    from dunning.services.cases import collection_case_set_reason

    case = CollectionCase.objects.filter(
        status=CollectionCase.Status.OPEN, customer__sales_rep__username="rep1"
    ).first()
    if case is not None:
        with translation.override("zh-hans"):
            collection_case_set_reason(
                case=case,
                reason=CollectionCase.OverdueReason.CASH_FLOW,
                note="客户说资金周转困难，月底付款。",  # noqa: RUF001
                actor=case.owner,
                as_of=case.opened_on,
            )
    return seeded_demo


def _walk(client, language: str):
    """Yield (user, page name, url, text nodes) for every page of every role."""
    models_ = scoped_models()
    routes_ = routes()
    for username in ROLES:
        user = get_user_model().objects.get(username=username)
        client.force_login(user)
        for name, url in _pages(user, routes_, models_):
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=ACCEPT[language])
            kind = response.get("Content-Type", "")
            if response.status_code not in (200, 403, 404) or not kind.startswith(
                ("text/html", "text/csv")
            ):
                continue
            body = b"".join(response) if response.streaming else response.content
            text = body.decode("utf-8-sig")
            if kind.startswith("text/csv"):
                nodes = [cell.strip() for cell in re.split(r"[,\r\n]", text) if cell.strip()]
            else:
                nodes = visible_text(text, language)
            yield username, name, url, nodes


def test_every_page_of_every_role_in_chinese_has_no_english_the_catalogue_translates(client, book):
    whole, pieces = _catalogue()
    problems, walked = [], 0
    for username, name, url, nodes in _walk(client, "zh-hans"):
        walked += 1
        page = "\n".join(nodes)
        untranslated = sorted({node for node in nodes if node in whole})
        untranslated += [piece for piece in pieces if piece in page]
        untranslated += [phrase for phrase in STORED_ENGLISH if phrase in page]
        if untranslated:
            problems.append(f"{username} {name} {url}: {untranslated[:5]}")
    assert walked > 100
    assert not problems, "\n".join(problems)


def test_every_page_of_every_role_in_english_has_no_chinese_but_stored_data(client, book):
    stored = _stored_text()
    problems, walked = [], 0
    for username, name, url, nodes in _walk(client, "en"):
        walked += 1
        runs = {run for node in nodes for run in CJK.findall(node)}
        foreign = sorted(run for run in runs if run not in stored)
        if foreign:
            problems.append(f"{username} {name} {url}: {foreign[:5]}")
    assert walked > 100
    assert not problems, "\n".join(problems)


def test_the_walk_reads_typed_text_apart_and_would_see_english_on_a_chinese_page():
    html = (
        '<html lang="zh-hans"><body><p>任务：致电</p><p>Call ACME about overdue INV-1</p>'  # noqa: RUF001
        "<blockquote data-typed>客户说 <b>Friday</b></blockquote>"
        '<option lang="en">English</option><script>var a = "Hidden";</script></body></html>'
    )

    nodes = visible_text(html, "zh-hans")

    assert nodes == ["任务：致电", "Call ACME about overdue INV-1"]  # noqa: RUF001
    assert any(phrase in "\n".join(nodes) for phrase in STORED_ENGLISH)
