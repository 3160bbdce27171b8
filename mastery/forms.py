"""HTML forms of the mastery app. They validate; services write."""

from __future__ import annotations

from django import forms

from .models import MasteryStatus

OVERRIDE_NOTE_MAX_LENGTH = 2000


class MasteryOverrideForm(forms.Form):
    """A teacher's override of one student's status on one competency; the reason is required."""

    status = forms.ChoiceField(
        label="Status",
        choices=MasteryStatus.choices,
        help_text="Kept until a teacher lifts it, whatever later evidence says.",
    )
    note = forms.CharField(
        label="Note",
        max_length=OVERRIDE_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the evidence does not tell the whole story (shown with the override).",
        error_messages={"required": "Write why you are overriding the status."},
    )
