"""Amainvoice connector: the invoices and credit notes Amainvoice writes for Amazon sales."""
