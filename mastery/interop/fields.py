"""What the xAPI and Caliper parsers share: the error that names the field of a refused request, and the
checks of a text and a number field."""

from __future__ import annotations

from typing import Any

REQUIRED = "This field is required."
NOT_AN_OBJECT = "Must be a JSON object."
NOT_TEXT = "Must be a non-empty string."
NOT_A_NUMBER = "Must be a number."
NOT_A_TIMESTAMP = "Must be an ISO 8601 timestamp."


class FieldError(Exception):
    """A request that is not valid xAPI or Caliper: `field` names where (e.g. `[2].result.score.raw`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def text(value: Any, where: str) -> str:
    if value is None:
        raise FieldError(where, REQUIRED)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise FieldError(where, NOT_TEXT)
    return value


def number(value: Any, where: str) -> float | None:
    """The number as a float; None when absent. A boolean or NaN is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise FieldError(where, NOT_A_NUMBER)
    return float(value)
