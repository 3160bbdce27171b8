"""The upload page's side of an import: the form, and the uploaded zip kept between preview and apply.

The page runs the import in the request (in-process), so it is for sets up to MAX_UPLOAD_BYTES; a
larger set goes through `manage.py import_oneroster`. Between the preview and the confirmation the zip
waits in a private temporary folder under a random token that only the uploader's session knows.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.core.files.uploadedfile import UploadedFile

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SESSION_KEY = "oneroster_uploads"
STALE_SECONDS = 24 * 3600
FOLDER = Path(tempfile.gettempdir()) / "plplatform-oneroster"


class UploadForm(forms.Form):
    roster = forms.FileField(label="OneRoster CSV zip", help_text="A .zip of the CSV files with manifest.csv.")
    source = forms.SlugField(
        label="Source name",
        max_length=100,
        initial="sis",
        help_text="Names the sending system; a later import with the same name updates the same rows.",
    )

    def clean_roster(self) -> UploadedFile:
        roster: UploadedFile = self.cleaned_data["roster"]
        if not (roster.name or "").lower().endswith(".zip"):
            raise forms.ValidationError("Upload the set as a .zip file.")
        if (roster.size or 0) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; import it with manage.py import_oneroster."
            )
        return roster


def keep_upload(session: SessionBase, district_id: int, upload: UploadedFile, source: str) -> tuple[str, Path]:
    """Store the zip until it is confirmed; the token names it in this session only."""
    FOLDER.mkdir(mode=0o700, exist_ok=True)
    _sweep_stale()
    token = secrets.token_urlsafe(16)
    with (FOLDER / f"{token}.zip").open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    session[SESSION_KEY] = {**session.get(SESSION_KEY, {}), token: {"district": district_id, "source": source}}
    return token, FOLDER / f"{token}.zip"


def _sweep_stale() -> None:
    """Uploads previewed but never applied are removed after a day."""
    cutoff = time.time() - STALE_SECONDS
    for stale in FOLDER.glob("*.zip"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)


def kept_upload(session: SessionBase, district_id: int, token: str) -> tuple[Path, str] | None:
    """The stored zip and its source name, when this session uploaded it for this district."""
    entry = session.get(SESSION_KEY, {}).get(token)
    path = FOLDER / f"{token}.zip"
    if not entry or entry["district"] != district_id or not path.exists():
        return None
    return path, entry["source"]


def forget_upload(session: SessionBase, token: str) -> None:
    uploads = dict(session.get(SESSION_KEY, {}))
    uploads.pop(token, None)
    session[SESSION_KEY] = uploads
    (FOLDER / f"{token}.zip").unlink(missing_ok=True)
