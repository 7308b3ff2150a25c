"""A generated, realistic Amainvoice dataset: SYNTHETIC sellers' days, deterministic per seed.

Each day holds `per_day` orders across DE/FR/IT/ES/UK, FBA and FBM, B2B buyers with VAT IDs
(intra-EU: no VAT, the `mwst` flag empty), several rates per country, promotions, gift wrap,
split shipments (one order, two invoice numbers) and refunds (credit notes one to five days
after their invoice, naming it in `inv_rech_nr`, or only its order with
`credits_name_invoice=False`). A share of rows is *late*: hidden on the
first fetch of their day, like Amainvoice's late deliveries. Days are generated on demand, so
a 100,000-row day costs nothing until it is asked for; each is drawn by its offset from the
first day, so a seed gives the same data whatever the date.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")
COUNTRIES = [("DE", 0.5), ("FR", 0.15), ("IT", 0.12), ("ES", 0.12), ("UK", 0.11)]
RATES = {"DE": ["19", "7"], "FR": ["20", "5.5"], "IT": ["22", "10"], "ES": ["21", "10"],
         "UK": ["20"]}
CURRENCY = {"UK": "GBP"}
CHANNEL = {"DE": "Amazon.de", "FR": "Amazon.fr", "IT": "Amazon.it", "ES": "Amazon.es",
           "UK": "Amazon.co.uk"}
CITIES = {"DE": [("Berlin", "10115"), ("München", "80331"), ("Köln", "50667")],
          "FR": [("Paris", "75001"), ("Lyon", "69001")], "IT": [("Milano", "20121"),
          ("Roma", "00184")], "ES": [("Madrid", "28001"), ("Valencia", "46001")],
          "UK": [("London", "SW1A 1AA"), ("Leeds", "LS1 4AP")]}
NAMES = ["Anna Schmidt", "Lukas Weber", "Marie Dubois", "Luca Rossi", "Sofía García",
         "Oliver Smith", "Emma Müller", "Jules Martin", "Giulia Bianchi", "Pablo López"]
PRODUCTS = [("Edelstahl-Trinkflasche 750 ml", "B0SYN00001"), ("Kochbuch Vegan", "B0SYN00002"),
            ("USB-C Ladekabel 2 m", "B0SYN00003"), ("Yogamatte rutschfest", "B0SYN00004"),
            ("Bambus-Zahnbürsten 4er", "B0SYN00005"), ("LED-Stirnlampe", "B0SYN00006")]
FIELDS = (
    "inv_rech_nr", "inv_date", "amazonorderid", "shipmentdate", "buyeremail",
    "buyerphonenumber", "buyername", "sku", "productname", "quantitypurchased",
    "quantityshipped", "currency", "mwst", "taxrate", "brutto_total", "netto_total",
    "tax_total", "itemprice", "itemprice_netto", "itemprice_tax", "shippingprice",
    "shippingprice_netto", "shippingprice_tax", "giftwrapprice", "giftwrapprice_netto",
    "giftwrapprice_tax", "itempromotiondiscount", "itempromotiondiscount_netto",
    "itempromotiondiscount_tax", "shippromotiondiscount", "shippromotiondiscount_netto",
    "shippromotiondiscount_tax", "giftwrappromotiondiscount",
    "giftwrappromotiondiscount_netto", "giftwrappromotiondiscount_tax", "shipservicelevel",
    "recipientname", "shipaddress1", "shipaddress2", "shipaddress3", "shipcity", "shipstate",
    "shippostalcode", "shipcountry", "shipphonenumber", "billaddress1", "billaddress2",
    "billaddress3", "billcity", "billstate", "billpostalcode", "billcountry", "carrier",
    "trackingnumber", "fulfillmentcenterid", "fulfillmentchannel", "saleschannel", "asin",
    "conditiontype", "quantityavailable", "isbusinessorder", "uid", "vatcheck", "documentlink",
    "order_id", "rem_gs_nr", "orderid", "rem_date", "returndate", "buyercompanyname",
    "quantity", "remreturnshipcost", "remsondererstattung", "itempromotionid", "reason",
    "rem_gs_nr_real",
)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _split(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    net = (gross / (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, gross - net


@dataclass
class Doc:
    """One document's rows as the remote serves them; `late` rows hide on the first fetch."""

    kind: str
    number: str
    day: date
    rows: list[dict[str, str]]
    late: set[int] = field(default_factory=set)


class Dataset:
    """Documents for days [start, start + days); `rows(day, kind, fetch)` is the answer."""

    def __init__(self, start: date, days: int, per_day: int = 300, *, seed: int = 7,
                 refund_ratio: float = 0.08, split_ratio: float = 0.04,
                 late_ratio: float = 0.03, credits_name_invoice: bool = True,
                 countries: Sequence[tuple[str, float]] = tuple(COUNTRIES)) -> None:
        self.start, self.days, self.per_day, self.seed = start, days, per_day, seed
        self.credits_name_invoice = credits_name_invoice  # False: only the order is named
        self.countries = tuple(countries)
        self.refund_ratio, self.split_ratio, self.late_ratio = (refund_ratio, split_ratio,
                                                                late_ratio)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    def covers(self, day: date) -> bool:
        return self.start <= day < self.end

    def _offset(self, day: date) -> int:
        """Days are drawn by their place in the dataset, not their date: the same seed gives
        the same orders, refunds and late rows whatever day the emulator starts on."""
        return (day - self.start).days

    # -- invoices ---------------------------------------------------------------------------
    @lru_cache(maxsize=256)  # noqa: B019 - the dataset lives as long as its emulator
    def invoices(self, day: date) -> tuple[Doc, ...]:
        if not self.covers(day):
            return ()
        rng = random.Random(f"{self.seed}:inv:{self._offset(day)}")
        docs: list[Doc] = []
        serial = 0
        for order_no in range(self.per_day):
            order = self._order(rng, day, order_no)
            shipments = [order["items"]]
            if len(order["items"]) > 1 and rng.random() < self.split_ratio:
                shipments = [order["items"][:1], order["items"][1:]]  # split shipment
            for items in shipments:
                serial += 1
                number = f"R{day:%Y%m%d}-{serial:05d}"
                rows = [self._row(order, item, number, day, i == 0)
                        for i, item in enumerate(items)]
                doc = Doc("inv", number, day, rows)
                if rng.random() < self.late_ratio:
                    doc.late = set(range(len(rows)))  # the whole invoice comes late
                elif len(rows) > 1 and rng.random() < self.late_ratio:
                    doc.late = {len(rows) - 1}  # its last line comes late: a revision
                docs.append(doc)
        return tuple(docs)

    def _order(self, rng: random.Random, day: date, order_no: int) -> dict[str, Any]:
        country = rng.choices([c for c, _ in self.countries],
                              [w for _, w in self.countries])[0]
        business = rng.random() < 0.15
        fba = rng.random() < 0.6
        city, postal = rng.choice(CITIES[country])
        name = rng.choice(NAMES)
        items = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            product, asin = rng.choice(PRODUCTS)
            rate = rng.choice(RATES[country])
            items.append({"product": product, "asin": asin, "sku": f"SKU-{asin[-3:]}",
                          "qty": rng.choice([1, 1, 1, 2, 3]), "rate": rate,
                          "unit": Decimal(rng.randint(399, 8999)) / 100,
                          "gift": rng.random() < 0.05, "promo": rng.random() < 0.1})
        return {
            "id": f"{rng.randint(302, 408):03d}-{rng.randint(0, 9999999):07d}-"
                  f"{order_no:07d}",
            "country": country, "business": business, "fba": fba, "city": city,
            "postal": postal, "name": name, "items": items,
            "company": f"SYNTHETIC {name.split()[1]} GmbH" if business else "",
            "uid": f"{'GB' if country == 'UK' else country}{rng.randint(10**8, 10**9 - 1)}"
                   if business else "",
            "shipping": Decimal(0) if fba else Decimal(rng.choice([0, 399, 499, 590])) / 100,
            "house": str(rng.randint(1, 120)), "street": rng.choice(
                ["Hauptstraße", "Rue de la Paix", "Via Roma", "Calle Mayor", "High Street"]),
        }

    def _row(self, order: dict[str, Any], item: dict[str, Any], number: str, day: date,
             first: bool) -> dict[str, str]:
        row = dict.fromkeys(FIELDS, "")
        reverse = order["business"] and order["country"] not in ("DE", "UK")
        rate = Decimal(item["rate"])
        qty = item["qty"]
        amounts: dict[str, Decimal] = {"itemprice": item["unit"] * qty}
        if first and order["shipping"]:
            amounts["shippingprice"] = order["shipping"]
            if item["promo"]:
                amounts["shippromotiondiscount"] = -order["shipping"]
        if item["gift"]:
            amounts["giftwrapprice"] = Decimal("2.99") * qty
        if item["promo"]:
            amounts["itempromotiondiscount"] = -(amounts["itemprice"] * Decimal("0.1")
                                                 ).quantize(CENT)
            row["itempromotionid"] = f"PROMO-{item['asin'][-3:]}-10"
        totals = [Decimal(0)] * 3
        for base, gross in amounts.items():
            if reverse:  # intra-EU B2B: net prices, no VAT, mwst flag empty
                net, vat = _split(gross, rate)
                gross = net
                vat = Decimal(0)
            else:
                net, vat = _split(gross, rate)
            row[base], row[f"{base}_netto"], row[f"{base}_tax"] = (
                _money(gross), _money(net), _money(vat))
            totals = [totals[0] + gross, totals[1] + net, totals[2] + vat]
        row["brutto_total"], row["netto_total"], row["tax_total"] = map(_money, totals)
        country = order["country"]
        row.update({
            "inv_rech_nr": number, "inv_date": day.isoformat(),
            "amazonorderid": order["id"], "shipmentdate": f"{day.isoformat()} 09:30:00",
            "buyeremail": f"{order['id'][-7:]}@marketplace.amazon.example",
            "buyername": order["name"], "buyercompanyname": order["company"],
            "sku": item["sku"], "asin": item["asin"], "productname": item["product"],
            "quantitypurchased": str(qty), "quantityshipped": str(qty),
            "currency": CURRENCY.get(country, "EUR"), "mwst": "" if reverse else "1",
            "taxrate": item["rate"], "recipientname": order["name"],
            "shipaddress1": order["street"], "shipaddress2": order["house"],
            "shipcity": order["city"], "shippostalcode": order["postal"],
            "shipcountry": country, "billaddress1": order["street"],
            "billaddress2": order["house"], "billcity": order["city"],
            "billpostalcode": order["postal"], "billcountry": country,
            "fulfillmentchannel": "AFN" if order["fba"] else "MFN",
            "saleschannel": CHANNEL[country], "conditiontype": "new",
            "isbusinessorder": "1" if order["business"] else "0", "uid": order["uid"],
            "vatcheck": "valid" if order["uid"] else "",
            "carrier": "" if order["fba"] else "DHL",
            "trackingnumber": "" if order["fba"] else f"00340434{number[-5:]}",
            "order_id": str(zlib.crc32(order["id"].encode()) % 10**8),
        })
        return row

    # -- credit notes -----------------------------------------------------------------------
    @lru_cache(maxsize=256)  # noqa: B019
    def credit_notes(self, day: date) -> tuple[Doc, ...]:
        if not self.covers(day):
            return ()
        docs: list[Doc] = []
        serial = 0
        for back in range(1, 6):
            origin = day - timedelta(days=back)
            rng = random.Random(f"{self.seed}:rem:{self._offset(origin)}")
            for invoice in self.invoices(origin):
                refunded = rng.random() < self.refund_ratio
                offset = rng.randint(1, 5)
                if not refunded or offset != back:
                    continue
                serial += 1
                number = f"GS{day:%Y%m%d}-{serial:05d}"
                row = dict(invoice.rows[0])
                row.update({"rem_gs_nr": number, "rem_date": day.isoformat(),
                            "orderid": row["amazonorderid"], "amazonorderid": "",
                            "quantity": row["quantitypurchased"], "quantitypurchased": "",
                            "returndate": (day - timedelta(days=1)).isoformat(),
                            "reason": "CustomerReturn", "remreturnshipcost": "0.00",
                            "remsondererstattung": "0.00", "rem_gs_nr_real": number})
                if not self.credits_name_invoice:
                    row.update({"inv_rech_nr": "", "inv_date": ""})
                for key in FIELDS:  # refunds are negative on the wire
                    money = key.endswith(("price", "_netto", "_tax", "discount", "_total"))
                    if money and row[key] and Decimal(row[key]) != 0:
                        row[key] = _money(-Decimal(row[key]))
                docs.append(Doc("rem", number, day, [row]))
        return tuple(docs)

    # -- serving ----------------------------------------------------------------------------
    def docs(self, day: date, kind: str) -> tuple[Doc, ...]:
        return self.invoices(day) if kind == "inv" else self.credit_notes(day)

    def rows(self, day: date, kind: str, fetch: int, link: str = "") -> list[dict[str, str]]:
        """The answer to the `fetch`-th request (1-based) for this day and type."""
        out: list[dict[str, str]] = []
        for doc in self.docs(day, kind):
            for index, row in enumerate(doc.rows):
                if fetch <= 1 and index in doc.late:
                    continue
                out.append({**row, "documentlink": f"{link}/documents/{doc.number}.pdf"
                            if link else f"{doc.number}.pdf"})
        return out

    def numbers(self, kind: str) -> set[str]:
        return {d.number for day in range(self.days)
                for d in self.docs(self.start + timedelta(days=day), kind)}

    def tax(self) -> dict[str, Any]:
        return {"thresholdCountries": [
            {"country": "FR", "vatNumber": "FR00999999999", "isThresholdCountry": True,
             "date": "01.07.2021"},
            {"country": "IT", "vatNumber": "IT00999999999", "isThresholdCountry": True,
             "date": "2022-03-01"}],
            "closedThresholds": [
            {"country": "ES", "vatNumber": "", "isThresholdCountry": False,
             "date": "01.01.2023"}]}

    def write_folder(self, folder: Path, link: str = "", fetch: int = 2) -> None:
        """The same data as files YYYY-MM-DD.inv / .rem / .tax (for the folder transport)."""
        folder.mkdir(parents=True, exist_ok=True)
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            for kind in ("inv", "rem"):
                (folder / f"{day.isoformat()}.{kind}").write_text(
                    json.dumps(self.rows(day, kind, fetch, link), ensure_ascii=False))
        (folder / f"{self.end.isoformat()}.tax").write_text(json.dumps(self.tax()))
