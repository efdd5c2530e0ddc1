"""Money is Decimal with two places, rounded half-up, never float.

Amounts people type are parsed here only (`money_parse`, `MoneyFormField`):
a plain decimal with a dot, no exponent ("12e3" is refused, not read as
12,000.00), no NaN or infinity.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
# Digits, one optional dot, an optional sign: what a person writes for an amount.
PLAIN_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def money_quantize(value: Decimal | int | str) -> Decimal:
    """Round to cents, half-up. Accepts str and int, never float."""
    if isinstance(value, float):
        raise TypeError("money must not be built from float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | int | str) -> str:
    """Format for machine interfaces: plain decimal, two places ("1100.00")."""
    return f"{money_quantize(value):.2f}"


_CURRENCY_SIGNS = ("¥", "￥", "RMB", "CNY")


def money_parse_printed(text: str) -> Decimal:
    """Read an amount as bank exports print it: "1,234.50", "¥1,234.50", "￥ 1234.5", "-20.00".

    Raises ValueError on anything else (letters, two points, more than two decimals,
    a comma that is not a thousands separator).
    """
    value = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    for sign in _CURRENCY_SIGNS:
        value = value.replace(sign, "")
    negative = value.startswith("-") or (value.startswith("(") and value.endswith(")"))
    value = value.strip("()").lstrip("+-")
    if "," in value:
        whole, _point, fraction = value.partition(".")
        groups = whole.split(",")
        if not groups[0] or len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:]):
            raise ValueError(text)
        value = "".join(groups) + (f".{fraction}" if _point else "")
    if not value or not all(char.isdigit() or char == "." for char in value):
        raise ValueError(text)
    if value.count(".") > 1 or len(value.partition(".")[2]) > 2:
        raise ValueError(text)
    amount = Decimal(value)
    return money_quantize(-amount if negative else amount)


def money_display(value: Decimal | int | str, *, currency: str = "") -> str:
    """Format for people, as the active language writes it: "CNY 9,000.00" / "9,000.00".

    The one home for amounts shown to a reader (timelines, messages, errors);
    templates do the same with `floatformat:"2g"`. Machine interfaces use `money_str`.
    """
    from django.utils import formats

    text = formats.number_format(money_quantize(value), 2, use_l10n=True, force_grouping=True)
    return f"{currency} {text}" if currency else text


def money_parse(text: str) -> Decimal:
    """Read a typed amount: a plain decimal only; raise ValueError on "12e3", "NaN", "1,000"."""
    text = str(text).strip()
    if not PLAIN_AMOUNT.fullmatch(text):
        raise ValueError(f"{text!r} is not a plain decimal amount")
    try:
        return Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{text!r} is not a plain decimal amount") from error


class MoneyFormField(forms.DecimalField):
    """A form's amount box: a plain decimal such as 3500.00, never exponent notation."""

    default_error_messages = {
        "invalid": _("Enter a plain amount such as 3500.00: a dot, no thousands separator."),
        "exponent": _(
            "Write the amount out in digits, such as 12000.00: %(value)s is exponent notation."
        ),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"[+-]?[\d.]*\d[eE][+-]?\d+", text):
                raise forms.ValidationError(
                    self.error_messages["exponent"], code="invalid", params={"value": text}
                )
            try:
                money_parse(text)
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
        return super().to_python(value)
