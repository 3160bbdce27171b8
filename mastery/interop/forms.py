"""The forms of the interop pages, kept beside the code they feed: the CASE import page's upload (mastery/views.py),
and the mapping of unmatched xAPI statements and Caliper events (mastery/unmatched_views.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model, QuerySet

from mastery.interop.unmatched_selectors import mapping_competencies, mapping_students, tool_scope_name
from mastery.models import Competency, UnmatchedStatement
from profiles.models import LearnerProfile, User

CASE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # a whole state's standards in CASE JSON is a few MB


class CaseUploadForm(forms.Form):
    """A CASE 1.0/1.1 JSON package (CFPackage) to import as a framework."""

    file = forms.FileField(
        label="CASE JSON file",
        help_text="A CFPackage (.json) exported from a standards source such as OpenSALT or a state's CASE server.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
        error_messages={"required": "Choose a CASE JSON file to import."},
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > CASE_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the page takes up to "
                f"{CASE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB (use manage.py import_case for larger files)."
            )
        data: bytes = upload.read()
        return data


def _optional_choice(model: type[Model], label: str, invalid: str) -> forms.ModelChoiceField:
    """A choice among ids of `model` (the form narrows the queryset to the admin's scope), saying `invalid` for any
    other value."""
    return forms.ModelChoiceField(
        queryset=model._default_manager.none(), required=False, label=label, error_messages={"invalid_choice": invalid}
    )


class UnmatchedMapForm(forms.Form):
    """Map what a group of unmatched statements names (mastery/unmatched_views.py): the person to a student
    and/or the activity to a competency. The group is named by its first open statement. The query fields only
    find choices; what is mapped is the chosen ids, each checked against the admin's scope and the tool's."""

    LOST = "Those statements are not open any more (mapped meanwhile?): nothing was changed."

    unmatched = forms.ModelChoiceField(
        queryset=UnmatchedStatement.objects.none(),
        widget=forms.HiddenInput,
        label="Statements",
        error_messages={"required": LOST, "invalid_choice": LOST},
    )
    student_query = forms.CharField(required=False, max_length=100, label="Find the student by name or username")
    student = _optional_choice(User, "Student", "Choose one of the students the search found in your district.")
    competency_query = forms.CharField(required=False, max_length=100, label="Find the competency by code or statement")
    competency = _optional_choice(Competency, "Competency", "Choose one of the competencies the search found.")

    def __init__(
        self, *args: Any, open_rows: QuerySet[UnmatchedStatement], students: QuerySet[LearnerProfile], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.students = students  # from profiles/access.py: whom this admin may map a person to
        for name, queryset in (
            ("unmatched", open_rows.select_related("tool__school", "tool__district")),
            ("student", User.objects.filter(pk__in=students.values("pk"))),
            ("competency", mapping_competencies()),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        row: UnmatchedStatement | None = data.get("unmatched")
        if row is None:
            return data
        student, competency = data.get("student"), data.get("competency")
        if student is not None and not row.person:
            self.add_error("student", "These statements name no person left to map.")
        elif student is not None and not mapping_students(row.tool, self.students).filter(pk=student.pk).exists():
            self.add_error(
                "student", f"Choose a student of {tool_scope_name(row.tool)}: {row.tool.name} writes for them only."
            )
        if competency is not None and not row.activity:
            self.add_error("competency", "These statements name no activity left to map.")
        if student is None and competency is None and not self.errors:
            self.add_error(*_nothing_chosen(row))
        return data


def _nothing_chosen(row: UnmatchedStatement) -> tuple[str | None, str]:
    """The error of a form sent with no choice, on the field that was there to choose."""
    if row.person and row.activity:
        return None, "Choose a student, a competency or both."
    if row.person:
        return "student", "Choose the student this person is (search by name or username)."
    return "competency", "Choose the competency this activity is (search by code or statement)."
