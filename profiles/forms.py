"""HTML forms of the profiles app: sign-in, learner profile, goals. They validate; services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from .models import Goal
from .services import PROFILE_LIST_FIELDS

LINE_MAX_LENGTH = 200  # each item of a profile list is a CharField(max_length=200)

SIGN_IN_FAILED = "That username and password do not match. Check both and try again."


class SignInForm(AuthenticationForm):
    """Django's sign-in form with one message for every failure: it never says whether the user exists."""

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": SIGN_IN_FAILED, "inactive": SIGN_IN_FAILED}


class LinesField(forms.CharField):
    """A list edited as a textarea, one item per line; blank lines are dropped."""

    widget = forms.Textarea(attrs={"rows": 4})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One item per line.")
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value if str(item).strip()]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        too_long = [line for line in value if len(line) > LINE_MAX_LENGTH]
        if too_long:
            raise ValidationError(
                "Each line can be at most %(limit)d characters; this one is %(length)d: “%(start)s…”",
                code="line_too_long",
                params={"limit": LINE_MAX_LENGTH, "length": len(too_long[0]), "start": too_long[0][:40]},
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial or []) != self.to_python(data)


class LearnerProfileForm(forms.Form):
    strengths = LinesField(label="Strengths")
    needs = LinesField(label="Needs")
    interests = LinesField(label="Interests")
    motivations = LinesField(label="Motivations")
    accommodations = LinesField(label="Accommodations")
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 5}))

    @classmethod
    def initial_from(cls, profile: Any) -> dict[str, Any]:
        return {name: getattr(profile, name) for name in (*PROFILE_LIST_FIELDS, "notes")}


class DateInput(forms.DateInput):
    input_type = "date"


class GoalForm(forms.Form):
    """A new goal, set with the student."""

    title = forms.CharField(label="Goal", max_length=200)
    description = forms.CharField(
        label="What it looks like when it is met", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    target_date = forms.DateField(
        label="Target date", widget=DateInput, help_text="The day you and the student aim to meet this goal."
    )
    conference_notes = forms.CharField(
        label="Conference notes", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    @classmethod
    def initial_from(cls, goal: Goal) -> dict[str, Any]:
        return {name: getattr(goal, name) for name in cls.base_fields}


class GoalEditForm(GoalForm):
    """An existing goal: the same fields plus its status."""

    status = forms.ChoiceField(label="Status", choices=Goal.Status.choices)

    field_order = ["title", "description", "target_date", "status", "conference_notes"]
