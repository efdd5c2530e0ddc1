"""Money in the API: strings with two decimals, never floats."""

import re
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import money_quantize, money_str

MONEY_INPUT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


@extend_schema_field(
    {"type": "string", "pattern": r"^-?\d{1,12}\.\d{2}$", "example": "1234.50", "readOnly": True}
)
class MoneyField(serializers.Field):
    """An amount as it is shown: a string with two decimals ("1234.50")."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return money_str(value)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?\d{1,12}\.\d{2}$",
        "example": "1234.50",
        "readOnly": True,
        "nullable": True,
    }
)
class NullableMoneyField(MoneyField):
    """An amount that may not be there (a discount not taken, cash not received yet)."""

    def __init__(self, **kwargs) -> None:
        kwargs["allow_null"] = True
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "pattern": MONEY_INPUT.pattern, "example": "1234.50"})
class MoneyInputField(serializers.Field):
    """An amount as a client sends it: a positive plain decimal string with at most two decimals.

    A JSON number is refused: a float cannot hold every amount exactly.
    """

    default_error_messages = {
        "not_a_string": _('Send the amount as a string such as "1234.50", not as a number.'),
        "invalid": _("Enter a plain amount such as 1234.50: a dot, at most two decimals."),
        "not_positive": _("The amount must be more than zero."),
    }

    def to_internal_value(self, data: object) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        text = data.strip()
        if not MONEY_INPUT.match(text):
            self.fail("invalid")
        amount = money_quantize(text)
        if amount <= 0:
            self.fail("not_positive")
        return amount

    def to_representation(self, value: Decimal) -> str:
        return money_str(value)


EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
BIGINT_MAX = 2**63 - 1


class BusinessDateField(serializers.DateField):
    """A business date, YYYY-MM-DD, within 2000-2099 (date arithmetic never leaves the range)."""

    default_error_messages = {
        "out_of_range": _("Give a date between 2000-01-01 and 2099-12-31."),
    }

    def to_internal_value(self, value: object) -> date:
        day = super().to_internal_value(value)
        if not EARLIEST <= day <= LATEST:
            self.fail("out_of_range")
        return day


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id of an object in the user's scope; ids out of range are as missing as others."""

    def to_internal_value(self, data: object):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= BIGINT_MAX:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def choice_or_blank(choices: list[tuple[str, str]]) -> serializers.ChoiceField:
    """A read-only choice that may be empty (a reason not set yet), documented with the blank."""
    return serializers.ChoiceField(choices=[("", ""), *choices], read_only=True)
