"""The errors a core module may raise; the CLI maps them to exit codes in one place."""

from __future__ import annotations


class ZppError(Exception):
    """Something the user can fix: one clear sentence, no traceback."""

    exit_code = 1


class InvalidInput(ZppError):
    """A value the user typed is not acceptable; names the field and the value."""

    def __init__(self, field: str, value: object, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field} {value!r}: {reason}")


class UsageError(ZppError):
    exit_code = 2


class NotFound(ZppError):
    exit_code = 3


class Conflict(ZppError):
    exit_code = 4


class SchemaTooNew(ZppError):
    exit_code = 5
