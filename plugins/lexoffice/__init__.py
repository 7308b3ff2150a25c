"""syncd plugin for lexoffice / Lexware Office: bookkeeping vouchers with their PDF."""
