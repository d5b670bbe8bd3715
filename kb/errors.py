"""Domain errors: raised anywhere in kb, turned into responses in one place in web/."""


class KbError(Exception):
    """Base class; `message` is plain English, safe to show a user."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(KbError):
    status_code = 404


class InvalidInput(KbError):
    status_code = 422


class Conflict(KbError):
    status_code = 409


class AuthRequired(KbError):
    """Signing in would let this through."""

    status_code = 401


class Forbidden(KbError):
    status_code = 403


class TooManyRequests(KbError):
    status_code = 429
