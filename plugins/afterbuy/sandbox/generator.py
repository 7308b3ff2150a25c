"""Synthetic, realistic Afterbuy invoice-list exports (for the emulator, the tests and the demo).

One row per item (or per invoice), several VAT rates, credit notes with negative amounts,
German decimals with thousands separators and `€`, quoted fields that hold the delimiter and
line breaks, Windows line ends. Everything is SYNTHETIC and deterministic for a seed.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from syncd_afterbuy.config import Columns

CENT = Decimal("0.01")
ARTICLES = (
    ("Kaffeebecher \"Morgenstund\"; 350 ml", Decimal("12.90"), Decimal("0.19")),
    ("Espressotassen-Set, 4 Stück\n(Geschenkkarton)", Decimal("1249.00"), Decimal("0.19")),
    ("Bio-Kaffeebohnen 1 kg", Decimal("18.50"), Decimal("0.07")),
    ("Kochbuch \"Süße Küche\"", Decimal("24.00"), Decimal("0.07")),
    ("Milchaufschäumer; Edelstahl", Decimal("39.95"), Decimal("0.19")),
    ("Gutschein-Karte (steuerfrei)", Decimal("25.00"), Decimal("0")),
    ("Versandkosten", Decimal("4.90"), Decimal("0.19")),
)
BUYERS = (
    ("Jana Müller", "", "", "DE"),
    ("Lukas Schäfer", "Schäfer & Söhne GmbH", "", "DE"),
    ("Marie Dubois", "Café Dubois SARL", "FR12345678901", "FR"),
    ("Anna Gruber", "", "", "AT"),
    ("Jörg Weiß", "Weiß; Partner KG", "DE123456789", "DE"),
)
PAYMENTS = ("PayPal", "Überweisung", "Rechnung", "Kreditkarte")


@dataclass(frozen=True)
class GeneratedLine:
    description: str
    quantity: int
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal


@dataclass
class GeneratedInvoice:
    number: str
    issue_date: date
    order_id: str
    buyer: tuple[str, str, str, str]
    payment: str
    credit: bool
    lines: list[GeneratedLine] = field(default_factory=list)

    @property
    def gross(self) -> Decimal:
        return sum((line.gross for line in self.lines), Decimal(0))


@dataclass
class GeneratedExport:
    data: bytes
    invoices: list[GeneratedInvoice]
    rows: int

    @property
    def numbers(self) -> list[str]:
        return [invoice.number for invoice in self.invoices]


def _line(description: str, unit_gross: Decimal, rate: Decimal, quantity: int,
          sign: int) -> GeneratedLine:
    gross = unit_gross * quantity
    net = (gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
    return GeneratedLine(description, quantity, sign * net, rate, sign * (gross - net),
                         sign * gross)


def make_invoices(count: int, *, seed: int = 1, start_number: int = 10001,
                  start_date: date = date(2026, 11, 2), credit_every: int = 6,
                  max_items: int = 4) -> list[GeneratedInvoice]:
    rng = random.Random(seed)
    invoices: list[GeneratedInvoice] = []
    for i in range(count):
        credit = credit_every > 0 and i % credit_every == credit_every - 1 and bool(invoices)
        invoice = GeneratedInvoice(
            number=str(start_number + i), issue_date=start_date + timedelta(days=i // 5),
            order_id=f"AB{700000 + i * 7}", buyer=BUYERS[(i + rng.randrange(2)) % len(BUYERS)],
            payment=PAYMENTS[rng.randrange(len(PAYMENTS))], credit=credit)
        sign = -1 if credit else 1
        for article in rng.sample(ARTICLES[:-1], rng.randint(1, max_items)):
            invoice.lines.append(_line(article[0], article[1], article[2],
                                       rng.randint(1, 3), sign))
        if not credit:
            invoice.lines.append(_line(*ARTICLES[-1][:3], 1, sign))
        invoices.append(invoice)
    return invoices


def money(value: Decimal, decimal: str = ",", euro: bool = False) -> str:
    text = f"{value:,.2f}"
    if decimal == ",":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text} €" if euro else text


def write_csv(invoices: list[GeneratedInvoice], *, columns: Columns | None = None,
              delimiter: str = ";", decimal: str = ",", per_item: bool = True,
              encoding: str = "utf-8", bom: bool = False, line_end: str = "\r\n",
              extra_columns: bool = True) -> GeneratedExport:
    """The export as bytes; `per_item=False` writes one row per invoice and VAT rate."""
    names = (columns or Columns()).mapping()
    header = [names[k] for k in ("invoice_number", "invoice_date", "order_id", "buyer_name",
                                 "buyer_company", "buyer_vat_id", "country", "currency",
                                 "description", "quantity", "net", "vat_rate", "vat", "gross",
                                 "paid_date", "payment_method") if k in names]
    keys = [k for k, v in names.items() if v in header]
    if extra_columns:
        header.insert(3, "Plattform")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end,
                        quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    rows = 0
    for n, inv in enumerate(invoices):
        groups: list[GeneratedLine] = inv.lines
        if not per_item:
            by_rate: dict[Decimal, list[GeneratedLine]] = {}
            for line in inv.lines:
                by_rate.setdefault(line.vat_rate, []).append(line)
            groups = [GeneratedLine(f"Rechnung {inv.number}", 1,
                                    sum((x.net for x in ls), Decimal(0)), rate,
                                    sum((x.vat for x in ls), Decimal(0)),
                                    sum((x.gross for x in ls), Decimal(0)))
                      for rate, ls in by_rate.items()]
        for line in groups:
            euro = decimal == "," and n % 3 == 0
            values = {
                "invoice_number": inv.number, "invoice_date": inv.issue_date.strftime("%d.%m.%Y"),
                "order_id": inv.order_id, "buyer_name": inv.buyer[0],
                "buyer_company": inv.buyer[1], "buyer_vat_id": inv.buyer[2],
                "country": inv.buyer[3], "currency": "EUR", "description": line.description,
                "quantity": str(line.quantity), "net": money(line.net, decimal, euro),
                "vat_rate": f"{line.vat_rate * 100:.0f}", "vat": money(line.vat, decimal, euro),
                "gross": money(line.gross, decimal, euro),
                "paid_date": "" if inv.payment == "Rechnung"
                else (inv.issue_date + timedelta(days=1)).strftime("%d.%m.%Y"),
                "payment_method": inv.payment,
            }
            row = [values[k] for k in keys]
            if extra_columns:
                row.insert(3, "eBay" if n % 2 else "Shop")
            writer.writerow(row)
            rows += 1
    text = out.getvalue()
    data = text.encode(encoding)
    return GeneratedExport((b"\xef\xbb\xbf" if bom else b"") + data, invoices, rows)


def generate(count: int = 20, *, seed: int = 1, start_number: int = 10001,
             **options: object) -> GeneratedExport:
    """`count` invoices (every sixth a credit note) as one export; options go to write_csv."""
    return write_csv(make_invoices(count, seed=seed, start_number=start_number), **options)  # type: ignore[arg-type]
