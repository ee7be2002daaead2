"""Formatting integer minor units as money for people."""

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


def format_money(amount: int, currency: str) -> str:
    exponent = _EXPONENT.get(currency.upper(), 2)
    major = f"{amount / 10**exponent:,.{exponent}f}"
    symbol = _SYMBOL.get(currency.upper())
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"
