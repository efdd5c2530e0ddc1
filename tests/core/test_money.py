from decimal import Decimal

import pytest

from core.money import money_quantize, money_str


def test_rounds_half_up_to_cents():
    assert money_quantize("2.345") == Decimal("2.35")
    assert money_quantize(Decimal("-2.345")) == Decimal("-2.35")
    assert money_str("1100") == "1100.00"


def test_refuses_float():
    with pytest.raises(TypeError):
        money_quantize(0.1)
