"""HTML forms of the pathways app. They parse; services validate and write (their messages are shown)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from django import forms

from mastery.models import Competency
from pathways.models import Activity

NOTE_MAX_LENGTH = 2000


class DateInput(forms.DateInput):
    input_type = "date"


def competency_choices(competencies: Sequence[Competency], *, by_framework: bool = False) -> list:
    """Choices grouped by grade (and framework), each labelled with its code and statement."""

    def group(c: Competency) -> str:
        grade = "Kindergarten" if c.grade_level == 0 else f"Grade {c.grade_level}"
        return f"{c.framework.name} · {grade}" if by_framework else grade

    return [
        (name, [(c.pk, f"{c.code} · {c.statement}") for c in members])
        for name, members in groupby(competencies, key=group)
    ]


class PathDatesForm(forms.Form):
    start_date = forms.DateField(label="Start date", widget=DateInput)
    target_date = forms.DateField(label="Target date", widget=DateInput)


class StepAddForm(forms.Form):
    competency = forms.TypedChoiceField(label="Competency", coerce=int)

    def __init__(self, *args, competencies: Sequence[Competency] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["competency"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a competency"), *competency_choices(competencies)]
        field.widget.attrs.update({"id": "add-competency", "aria-describedby": "add-competency-help"})


class StepMoveForm(forms.Form):
    direction = forms.ChoiceField(label="Direction", choices=[("up", "Earlier"), ("down", "Later")])


class StepSkipForm(forms.Form):
    reason = forms.CharField(label="Why skip it", required=False, max_length=NOTE_MAX_LENGTH)


class NoteForm(forms.Form):
    """An optional note (acknowledging an alert, deciding a choice); the service decides if it is needed."""

    note = forms.CharField(label="Note", required=False, max_length=NOTE_MAX_LENGTH)


class ChoiceDecisionForm(NoteForm):
    decision = forms.ChoiceField(label="Decision", choices=[("approve", "Approve"), ("decline", "Decline")])


class ChoiceLimitsForm(forms.Form):
    open_ready_steps = forms.IntegerField(
        label="Ready steps open to choose from",
        help_text="From 1 to 20: the first this many ready steps of each path, in path order.",
        error_messages={"invalid": "A whole number is required."},
    )
    required_first = forms.TypedMultipleChoiceField(
        label="Required first",
        coerce=int,
        required=False,
        help_text="While one of these is ready on a student's path, only these can be chosen.",
    )
    approval_required = forms.BooleanField(
        label="A teacher approves each choice", required=False, help_text="Otherwise a choice counts at once."
    )

    def __init__(self, *args, competencies: Sequence[Competency] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["required_first"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = competency_choices(competencies, by_framework=True)
        field.widget.attrs["size"] = 10


class ActivityForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200, required=False)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    url = forms.URLField(label="Link", required=False, assume_scheme="https", help_text="Where the material is.")
    competencies = forms.TypedMultipleChoiceField(
        label="Competencies",
        coerce=int,
        required=False,
        help_text="Hold Ctrl (or ⌘) to choose several.",
    )

    def __init__(self, *args, competencies: Sequence[Competency] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["competencies"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = competency_choices(competencies, by_framework=True)
        field.widget.attrs["size"] = 10


class ActivityReviewForm(NoteForm):
    status = forms.ChoiceField(
        label="Review",
        choices=[(Activity.Review.APPROVED, "Approve"), (Activity.Review.REJECTED, "Reject")],
    )
