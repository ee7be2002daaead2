"""Money for people: integer minor units shown and entered in the currency's major unit."""

from decimal import Decimal

# ISO 4217 currencies whose minor unit is not cents.
_EXPONENT = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}
_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency` (2 unless ISO 4217 says otherwise)."""
    return _EXPONENT.get(currency.upper(), 2)


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
