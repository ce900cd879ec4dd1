"""Error types shared by the library and the CLI.

A :class:`UserError` is a mistake the user can fix (bad input, missing file, absent
runtime). The CLI turns it into exit code 2 and a one-paragraph message; anything else
is an internal error (exit 1).
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input or environment: the message says what was wrong and what to do."""


class ConfigError(UserError):
    """A subnet configuration is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")
