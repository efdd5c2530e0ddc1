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


def money_display(value: Decimal | int | str, *, currency: str = "") -> str:
    """Format for people, as the active language writes it: "CNY 9,000.00" / "9,000.00".

    The one home for amounts shown to a reader (timelines, messages, errors);
    templates do the same with `floatformat:"2g"`. Machine interfaces use `money_str`.
    """
    from django.utils import formats

    text = formats.number_format(money_quantize(value), 2, use_l10n=True, force_grouping=True)
    return f"{currency} {text}" if currency else text
