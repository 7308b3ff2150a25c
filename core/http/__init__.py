"""One HTTP client and rate limiter for every connector (`context.http`).

    client = context.http.client(
        name="lexoffice", base_url="https://api.lexoffice.io",
        secret_headers={"Authorization": f"Bearer {key}"},
        rate=RateLimit(requests=2, per=1.0, key=f"lexoffice:{key_hash}"))
    response = client.post("/v1/vouchers", json=body)   # no exception for a status code

Outside the engine (tests, `check()`): `HttpClients.standalone()`.
"""

from syncd.http.client import HttpClient, HttpClients, display_url
from syncd.http.limits import Pacer, RateLimit

__all__ = ["HttpClient", "HttpClients", "Pacer", "RateLimit", "display_url"]
