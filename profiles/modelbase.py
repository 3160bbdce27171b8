"""What every plplatform model shares: validation messages that name the offending values."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

GRADE_MIN = 0  # kindergarten
GRADE_MAX = 12


def grade_code(grade: int) -> str:
    """A grade as the CEDS codes write it (OneRoster grades, CASE educationLevel): KG, 01 ... 12."""
    return "KG" if grade == GRADE_MIN else f"{grade:02d}"


def validate_grade(value: int) -> None:
    if not GRADE_MIN <= value <= GRADE_MAX:
        raise ValidationError(
            f"Grade {value} is out of range: grades run from {GRADE_MIN} (kindergarten) to {GRADE_MAX}.",
            code="grade_range",
        )


class PlatformModel(models.Model):
    """Base of every model: a duplicate natural key is refused with the values that clash."""

    class Meta:
        abstract = True

    def unique_error_message(self, model_class: type[models.Model], unique_check: Any) -> ValidationError:
        fields = [
            field for name in unique_check if isinstance(field := model_class._meta.get_field(name), models.Field)
        ]
        parts = [f"{field.verbose_name} “{self._value_label(field)}”" for field in fields]
        described = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return ValidationError(f"A {model_class._meta.verbose_name} with {described} already exists.", code="unique")

    def _value_label(self, field: Any) -> str:
        if field.is_relation:
            related = getattr(self, field.name, None)
            return str(related) if related is not None else ""
        return str(getattr(self, field.attname))
