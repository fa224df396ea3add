"""Money as people read it, and the month list prices are quoted in: one definition each.

`money()` writes an amount the way every finding detail and Markdown report does (thousands
separators, cents, then the currency). `HOURS_PER_MONTH` turns an hourly list price into a monthly
one for every cloud: 730 hours (8,760 hours a year / 12), the convention of the AWS, Azure and
Google Cloud pricing calculators.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

HOURS_PER_MONTH = Decimal(730)
CENT = Decimal("0.01")


def to_decimal(value: Any) -> Decimal:
    """An amount as an API sends it (number or numeric string) as Decimal; 0 when absent or not a
    number."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def money(value: Decimal | float | None, currency: str) -> str:
    """`1,234.50 USD`; `–` for no amount; no trailing space when the currency is unknown ('')."""
    if value is None:
        return "–"
    amount = Decimal(str(value)).quantize(CENT)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,.2f} {currency}".rstrip()
