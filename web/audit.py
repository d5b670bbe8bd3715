"""Security events (OWASP ASVS 7.1-7.2): sign-ins that succeed or fail, lock-outs, sign-outs, registrations,
password changes and resets, confirmed addresses, and an admin's role and access changes, on the `kb.security`
logger, one line each: `event=… user=… client=…`. Never a password, a token or a whole e-mail address: a
failed sign-in names the address by a short hash, enough to see one address tried from many places."""

from __future__ import annotations

import hashlib
import logging

from starlette.requests import Request

log = logging.getLogger("kb.security")


def address_tag(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]


def record(event: str, request: Request, **fields: object) -> None:
    client = request.client.host if request.client else "unknown"
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    log.info("event=%s client=%s %s", event, client, details)
