"""Money for people: integer minor units shown and entered in the currency's major unit."""

from decimal import Decimal
from math import log10

import moneyed

_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


class UnknownCurrency(ValueError):
    pass


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency`, as ISO 4217 gives them (py-moneyed's table:
    0 for JPY, XOF, UGX; 3 for BHD, IQD, LYD; 4 for CLF)."""
    try:
        sub_unit = moneyed.get_currency(currency.upper()).sub_unit
    except moneyed.CurrencyDoesNotExist as exc:
        raise UnknownCurrency(f"{currency!r} is not an ISO 4217 currency") from exc
    return round(log10(sub_unit))


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in minor units; ValueError if it has more decimals than `currency` allows."""
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency.upper()} has {exponent(currency)} decimal places")
    return int(minor)


def format_money(amount: int, currency: str) -> str:
    digits = exponent(currency)
    major = f"{amount / 10**digits:,.{digits}f}"
    symbol = _SYMBOL.get(currency.upper())
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"
