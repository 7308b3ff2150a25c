"""Tolerant readers for the values of an Afterbuy export: amounts, VAT rates, dates,
countries and currencies.

Afterbuy is a German back office, so `1.234,56 €` is the likely form, but nothing about the
export is publicly specified: every reader accepts the dot notation too and says exactly what
it could not read. The decimal separator is decided once per file (`detect_decimal`), never
guessed per value, so `1.234` cannot mean 1234 in one row and 1.234 in the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

CURRENCY_MARKS = re.compile(r"(€|EUR|eur)")
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_COMMA_DECIMAL = re.compile(r",\d{1,2}$")
_DOT_DECIMAL = re.compile(r"\.\d{1,2}$")
DATE_FORMATS = (
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y", "%d.%m.%y %H:%M",
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y",
)


class ValueProblem(ValueError):
    """A value that could not be read; the message quotes it."""


def _clean(text: str) -> tuple[str, bool]:
    """Strip currency marks and spaces; return the digits and whether the value is negative."""
    value = _SPACES.sub("", CURRENCY_MARKS.sub("", text))
    negative = False
    if value.startswith("(") and value.endswith(")"):
        value, negative = value[1:-1], True
    if value.endswith("-"):
        value, negative = value[:-1], True
    if value.startswith(("-", "−")):
        value, negative = value[1:], not negative
    elif value.startswith("+"):
        value = value[1:]
    return value, negative


def detect_decimal(samples: Iterable[str]) -> str:
    """"," or "." from the amounts of one file: the separator followed by one or two digits."""
    comma = dot = 0
    for sample in samples:
        value, _ = _clean(sample)
        if _COMMA_DECIMAL.search(value):
            comma += 1
        elif _DOT_DECIMAL.search(value):
            dot += 1
    return "." if dot > comma else ","


_PLAIN = {",": re.compile(r"-?\d+(?:,\d+)?"), ".": re.compile(r"-?\d+(?:\.\d+)?")}
"""The common case, `-12,50` without grouping or currency: read without the general path."""


def parse_number(text: str, decimal: str) -> Decimal:
    """`1.234,56`, `-12,50 €`, `1234.56` (with `decimal="."`) as a Decimal; ValueProblem else."""
    if _PLAIN[decimal].fullmatch(text):
        return Decimal(text.replace(",", ".") if decimal == "," else text)
    raw = text
    value, negative = _clean(text)
    if not value:
        raise ValueProblem(f"{raw!r} is empty")
    group = "." if decimal == "," else ","
    if value.count(decimal) > 1:
        raise ValueProblem(f"{raw!r} has more than one {decimal!r}")
    whole, _, frac = value.partition(decimal)
    if group in whole:
        parts = whole.split(group)
        if not parts[0] or len(parts[0]) > 3 or any(len(p) != 3 for p in parts[1:]):
            raise ValueProblem(f"{raw!r} is not a number with {decimal!r} as decimal separator")
        whole = "".join(parts)
    if not whole.isdigit() or (frac and not frac.isdigit()) or group in frac:
        raise ValueProblem(f"{raw!r} is not a number with {decimal!r} as decimal separator")
    try:
        number = Decimal(f"{whole}.{frac}" if frac else whole)
    except InvalidOperation as exc:  # pragma: no cover - digits only reach here
        raise ValueProblem(f"{raw!r} is not a number") from exc
    return -number if negative else number


def parse_money(text: str, decimal: str) -> Decimal:
    number = parse_number(text, decimal)
    if number != number.quantize(Decimal("0.01")):
        raise ValueProblem(f"{text!r} has more than two decimal places")
    return number.quantize(Decimal("0.01"))


@lru_cache(maxsize=256)
def parse_rate(text: str, decimal: str) -> Decimal:
    """`19`, `19 %`, `19,00` or `0.19` as the fraction 0.19."""
    value = parse_number(text.replace("%", ""), decimal)
    if value < 0:
        raise ValueProblem(f"{text!r} is a negative VAT rate")
    rate = value / 100 if value >= 1 else value
    if rate >= 1:
        raise ValueProblem(f"{text!r} is not a VAT rate")
    return rate.normalize() if rate else Decimal(0)


@lru_cache(maxsize=4096)
def parse_date(text: str, date_format: str = "auto") -> date:
    """A date (a file repeats each one many times: cached)."""
    value = text.strip()
    formats = DATE_FORMATS if date_format == "auto" else (date_format, date_format.split(" ")[0])
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    expected = "dd.mm.yyyy or yyyy-mm-dd" if date_format == "auto" else repr(date_format)
    raise ValueProblem(f"{text!r} is not a date ({expected})")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for lang in ("en", "de"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.casefold()] = code
    return names


def country_code(text: str) -> str:
    value = text.strip()
    if len(value) == 2 and value.isalpha():
        return value.upper()
    code = _country_names().get(value.casefold())
    if code is None:
        raise ValueProblem(f"{text!r} is not a country (ISO code such as DE, or its name)")
    return code


def currency_code(text: str) -> str:
    value = {"€": "EUR", "EURO": "EUR"}.get(text.strip().upper(), text.strip().upper())
    if len(value) != 3 or not value.isalpha():
        raise ValueProblem(f"{text!r} is not a currency code such as EUR")
    return value
