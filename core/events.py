"""Text the system writes, worded when it is read, in the reader's language.

Writers store a *kind* and its *parameters* (amounts as strings "1234.50", dates
ISO, numbers, ids, lists of item labels), never a finished sentence: a sentence
stored at write time is frozen in the language of whoever caused it. Readers
(pages, exports, emails, the API) call `render(kind, params)`, which words the
row with the active translation, amounts grouped and dates formatted as the
active language writes them.

Each app registers its renderers (`@register("kind")`) and the labels of its kinds
(`register_labels`) from its `AppConfig.ready`. A kind without a renderer still
reads sensibly: its label, then its parameters' values. What a person typed is
never a parameter to translate: it travels as `note` and is shown as typed.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext, pgettext

from core.money import money_display

Renderer = Callable[[Mapping[str, Any]], str]

_renderers: dict[str, Renderer] = {}
_labels: dict[str, Any] = {}

# Parameters that identify rows rather than say anything to a reader.
_ID_KEYS = re.compile(r"(^|_)(id|pk|task|communication|hold_event|promise|dispute|agreement)$")
_DATE_KEYS = re.compile(r"(^|_)(date|on|until|as_of|day)$")
_MONEY_KEYS = re.compile(r"(^|_)(amount|paid|owed|total|outstanding|limit|fee)$")
TYPED_KEY = "note"


def register(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of one kind (decorator)."""

    def decorate(renderer: Renderer) -> Renderer:
        _renderers[kind] = renderer
        return renderer

    return decorate


def register_labels(choices: Iterable[tuple[str, Any]], *, prefix: str = "") -> None:
    """Register the (lazy) labels of kinds, e.g. a model's `Kind.choices`."""
    for value, label in choices:
        _labels.setdefault(f"{prefix}{value}", label)


def label(kind: str) -> str:
    """The kind's label in the active language; a readable form of its code if unknown."""
    if kind in _labels:
        return str(_labels[kind])
    return kind.rsplit(":", 1)[-1].replace("_", " ").strip().capitalize()


def render(kind: str, params: Mapping[str, Any] | None) -> str:
    """Word one row of `kind` with `params` in the active language."""
    params = params if isinstance(params, Mapping) else {}
    renderer = _renderers.get(kind)
    if renderer is not None:
        try:
            return renderer(params)
        except (KeyError, TypeError, ValueError):
            pass  # a row older than its renderer's parameters: fall back to label + values
    return fallback(kind, params)


def fallback(kind: str, params: Mapping[str, Any]) -> str:
    """The kind's label, then the values of its parameters.

    Left out: ids (row numbers say nothing to a reader), the currency when an amount
    carries it, and what a person typed (shown as typed, apart).
    """
    has_money = any(_MONEY_KEYS.search(key) for key in params)
    values = [
        value_text(key, value, params)
        for key, value in params.items()
        if key != TYPED_KEY
        and not _ID_KEYS.search(key)
        and not (key == "currency" and has_money)
        and not (isinstance(value, int) and not isinstance(value, bool))
        and value not in (None, "", [], {})
    ]
    values = [value for value in values if value]
    if not values:
        return label(kind)
    return gettext("%(label)s: %(values)s") % {
        "label": label(kind),
        "values": list_text(values),
    }


def value_text(key: str, value: Any, params: Mapping[str, Any] | None = None) -> str:
    """One parameter, formatted for the reader by what its name says it holds."""
    if isinstance(value, list | tuple):
        return list_text(str(item) for item in value)
    if isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if _MONEY_KEYS.search(key):
        currency = (params or {}).get("currency", "")
        text = amount_text(value, currency=currency)
        if text:
            return text
    if _DATE_KEYS.search(key):
        return date_text(value)
    return str(value)


def amount_text(value: Any, *, currency: str = "") -> str:
    """An amount as the language writes it ("CNY 9,000.00"); "" if it is not a number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    return money_display(amount, currency=currency or "")


def date_text(value: Any) -> str:
    """A date (or ISO date string) in the language's one date format."""
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, str):
        parsed = parse_date(value) if len(value) == 10 else None
        if parsed is None:
            moment = parse_datetime(value)
            return datetime_text(moment) if moment else value
        value = parsed
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value or "")


def formal_date_text(value: date | datetime | None) -> str:
    """A date as a letter in the active language writes it ("2026年9月16日", "16 September
    2026"); pages write the site's one date format (`date_text`)."""
    from django.utils import dateformat
    from django.utils.translation import get_language

    from config.formats.dates import FORMAL_DATE_FORMATS

    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localdate(value)
    language = "zh-hans" if (get_language() or "").startswith("zh") else "en"
    return dateformat.format(value, FORMAL_DATE_FORMATS[language])


def datetime_text(value: datetime) -> str:
    """A moment in the language's one date-and-time format, in the site's time zone."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")


def list_text(values: Iterable[Any]) -> str:
    """Items joined as the language joins an enumeration ("A, B" / "A、B")."""
    return pgettext("list separator", ", ").join(str(value) for value in values)
