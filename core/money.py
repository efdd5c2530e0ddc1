"""Money is Decimal with two places, rounded half-up, never float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


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
