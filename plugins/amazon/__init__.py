"""syncd's Amazon SP-API connector: VIDR in, UPLOAD_VAT_INVOICE out."""
