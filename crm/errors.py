"""Domain errors. Services raise these; the CLI and the UI turn them into messages.

Each error carries a message key from the catalogue in `crm.i18n` plus format
arguments, so the same refusal reads well in Chinese and in English.
"""

from __future__ import annotations


class CrmError(Exception):
    """Base of every error a user may see. `str(err)` is an English fallback."""

    key = "error.generic"

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        if key:
            self.key = key
        self.params = params


class NotFound(CrmError):
    key = "error.not_found"


class Forbidden(CrmError):
    key = "error.forbidden"


class InvalidTransition(CrmError):
    key = "error.invalid_transition"


class Conflict(CrmError):
    """Someone else changed the record since it was read (optimistic locking)."""

    key = "error.conflict"


class ValidationError(CrmError):
    key = "error.validation"


class AuthError(CrmError):
    key = "error.auth"
