"""German and English: chosen by the browser's Accept-Language, switchable per session.

The templates write English text in `_("…")`; `GERMAN` maps it to the German an operator of
the seed products knows ("Belege wartend", "zurücksetzen", "manuell importiert").
tests/test_web_i18n.py checks that every string a template uses has its German line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("en", "de")

GERMAN: dict[str, str] = {
    "Overview": "Übersicht",
    "Waiting": "Wartend",
    "Errors": "Fehlerhaft",
    "Done": "Fertig",
    "Manual": "Manuell importiert",
    "Revised": "Geändert",
    "Events": "Ereignisse",
    "Reload": "Nachladen",
    "System": "System",
    "Log in": "Anmelden",
    "Log out": "Abmelden",
    "User": "Benutzer",
    "Password": "Passwort",
    "Wrong user name or password.": "Benutzername oder Passwort falsch.",
    "Too many failed logins; try again in {n} seconds.":
        "Zu viele fehlgeschlagene Anmeldungen; bitte in {n} Sekunden erneut versuchen.",
    "Pipeline": "Pipeline",
    "Pipelines": "Pipelines",
    "Source": "Quelle",
    "Targets": "Ziele",
    "Target": "Ziel",
    "State": "Status",
    "waiting": "wartend",
    "processing": "in Arbeit",
    "error": "fehlerhaft",
    "done": "fertig",
    "manual": "manuell",
    "rejected": "abgelehnt",
    "repull": "wartet auf Neuabruf",
    "Last run": "Letzter Lauf",
    "Next run": "Nächster Lauf",
    "never": "nie",
    "enabled": "aktiv",
    "disabled": "deaktiviert",
    "Run now": "Jetzt ausführen",
    "Run requested for {p}.": "Lauf für {p} angestoßen.",
    "Documents per day, last 30 days": "Belege pro Tag, letzte 30 Tage",
    "Deadline warnings": "Fristwarnungen",
    "Search": "Suchen",
    "Number, order id or buyer": "Belegnummer, Bestellnummer oder Käufer",
    "all": "alle",
    "From": "Von",
    "To": "Bis",
    "Filter": "Filtern",
    "No documents.": "Keine Belege.",
    "Checked the documents down to #{n} so far; “Older” searches on.":
        "Bisher bis Beleg #{n} durchsucht; „Ältere“ sucht weiter.",
    "Newer": "Neuere",
    "Older": "Ältere",
    "Number": "Belegnummer",
    "Order": "Bestellung",
    "Buyer": "Käufer",
    "Total": "Summe",
    "Updated": "Geändert am",
    "Error": "Fehler",
    "Kind": "Art",
    "Source key": "Quellschlüssel",
    "Reset": "Zurücksetzen",
    "Mark manually imported": "Manuell importiert",
    "Resend": "Neu senden",
    "Selected documents": "Ausgewählte Belege",
    "Confirm": "Bestätigen",
    "Cancel": "Abbrechen",
    "Really do this for {n} document(s)?": "Wirklich für {n} Beleg(e) ausführen?",
    "Resend delivers the documents a second time. Remove them on the target first.":
        "Neu senden liefert die Belege ein zweites Mal. Entferne sie vorher im Zielsystem.",
    "Select at least one document.": "Bitte mindestens einen Beleg auswählen.",
    "Document": "Beleg",
    "Fields": "Felder",
    "Lines": "Positionen",
    "Description": "Beschreibung",
    "Quantity": "Menge",
    "Net": "Netto",
    "VAT": "USt.",
    "Gross": "Brutto",
    "VAT rate": "USt.-Satz",
    "Totals": "Summen",
    "Deliveries": "Übertragungen",
    "Attempts": "Versuche",
    "Remote id": "Externe ID",
    "Links": "Verknüpfungen",
    "Attachments": "Anhänge",
    "Download": "Herunterladen",
    "PDF": "PDF",
    "Raw JSON": "Rohdaten (JSON)",
    "Revisions": "Revisionen",
    "Issue date": "Belegdatum",
    "Order date": "Bestelldatum",
    "Currency": "Währung",
    "Date range": "Zeitraum",
    "Start reload": "Nachladen starten",
    "Reload {p} from {a} to {b}": "{p} von {a} bis {b} nachladen",
    "Windows": "Zeitfenster",
    "Documents": "Belege",
    "running": "läuft",
    "finished": "abgeschlossen",
    "failed": "fehlgeschlagen",
    "interrupted": "unterbrochen",
    "Per day": "Pro Tag",
    "Day": "Tag",
    "Imported": "Importiert",
    "Result": "Ergebnis",
    "new": "neu",
    "already known": "bereits bekannt",
    "revised": "geändert",
    "Recent reloads": "Letzte Nachladevorgänge",
    "Actor": "Benutzer",
    "Time": "Zeit",
    "Message": "Meldung",
    "Since": "Seit",
    "Until": "Bis",
    "No events.": "Keine Ereignisse.",
    "Plugins": "Plugins",
    "Version": "Version",
    "Distribution": "Paket",
    "Effective configuration (secrets masked)": "Wirksame Konfiguration (Geheimnisse maskiert)",
    "Not found.": "Nicht gefunden.",
    "You may only look: your role is viewer.": "Nur Lesezugriff: deine Rolle ist Betrachter.",
    "The form expired; please try again.": "Das Formular ist abgelaufen; bitte erneut versuchen.",
    "Something went wrong; the event log has the details.":
        "Etwas ist schiefgelaufen; das Ereignisprotokoll enthält die Details.",
    "Local mode: no users are configured, so whoever uses this machine acts as {u}.":
        "Lokaler Modus: keine Benutzer eingerichtet, wer diesen Rechner nutzt, handelt als {u}.",
    "Language": "Sprache",
    "operator": "Bearbeiter",
    "viewer": "Betrachter",
    "Back": "Zurück",
    "Nothing selected.": "Nichts ausgewählt.",
    "{p} paused: nothing is pulled or delivered.":
        "{p} pausiert: es wird nichts abgerufen oder übertragen.",
    "{p} resumed.": "{p} läuft wieder.",
    "Pause": "Pausieren",
    "Resume": "Fortsetzen",
    "paused": "pausiert",
    "Upload": "Hochladen",
    "CSV upload": "CSV-Datei hochladen",
    "File": "Datei",
    "The file is empty.": "Die Datei ist leer.",
    "The file is larger than {n} MB.": "Die Datei ist größer als {n} MB.",
    "This file was uploaded before (same content); it is not read twice.":
        "Diese Datei wurde bereits hochgeladen (gleicher Inhalt); sie wird nicht zweimal "
        "gelesen.",
    "Accepted documents": "Übernommene Belege",
    "Rejected rows": "Abgelehnte Zeilen",
    "Recent uploads": "Letzte Uploads",
    "Type": "Typ",
    "delivered": "übertragen",
    "Steps": "Schritte",
    "Cursor": "Lesestand",
    "Changed since it was delivered": "Geändert seit der Übertragung",
    "Step": "Schritt",
    "unchanged": "unverändert",
}


def pick_language(accept: str | None, chosen: str | None = None) -> str:
    """The session's choice, else the best match for Accept-Language, else English."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    wanted = []
    for part in (accept or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag:
            wanted.append((weight, tag.replace("-", "_")))
    ordered = [tag for _, tag in sorted(wanted, key=lambda x: -x[0])]
    return negotiate_locale(ordered, list(LANGUAGES)) or "en"


class Translator:
    """`_`, dates, money and numbers in one language, handed to every template."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.locale = Locale.parse(self.language)

    def gettext(self, text: str, **values: object) -> str:
        out = GERMAN.get(text, text) if self.language == "de" else text
        return out.format(**values) if values else out

    def when(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return "–"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(moment, "short", locale=self.locale) + " UTC"

    def day(self, value: date | str | None) -> str:
        if not value:
            return "–"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, "medium", locale=self.locale)

    def money(self, amount: object, currency: str | None) -> str:
        if amount is None:
            return "–"
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            return str(amount)
        if currency:
            return format_currency(value, currency, locale=self.locale)
        return format_decimal(value, "#,##0.00", locale=self.locale)

    def number(self, value: object) -> str:
        return format_decimal(Decimal(str(value)), locale=self.locale)

    def functions(self) -> dict[str, Callable[..., str]]:
        return {"_": self.gettext, "when": self.when, "day": self.day, "money": self.money,
                "num": self.number}
