"""Xentral target: invoices, credit notes and orders with their PDFs through Xentral's API."""
