"""The upload form of the CASE import page (mastery/views.py); kept beside the importer it feeds."""

from __future__ import annotations

from django import forms

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
