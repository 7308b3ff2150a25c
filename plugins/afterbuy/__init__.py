"""Afterbuy source: the invoice-list CSV (inbox), the invoice PDFs and the optional XML API."""
