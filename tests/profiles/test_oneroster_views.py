"""The OneRoster upload page: preview first (nothing written), then apply with the preview's token."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from profiles.imports import uploads
from profiles.imports.oneroster import import_oneroster
from profiles.models import School, User
from tests.profiles.oneroster_helpers import sample, small_set, table_counts, write_set
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_folder(tmp_path, monkeypatch):
    """Previewed zips wait in the test's own folder, not the machine's temporary one."""
    monkeypatch.setattr(uploads, "FOLDER", tmp_path / "uploads")


def zipped(folder: Path) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for child in sorted(folder.glob("*.csv")):
            archive.write(child, child.name)
    return SimpleUploadedFile("roster.zip", buffer.getvalue(), content_type="application/zip")


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_preview_writes_nothing_and_apply_imports(world):
    client = signed_in("admin_north")
    url = reverse("oneroster-upload", kwargs={"district_id": world.districts["north"].pk})
    before = table_counts()

    preview = client.post(url, {"roster": zipped(sample("edfi-lms-toolkit-v1p1")), "source": "classlink"})

    assert preview.status_code == 200
    assert table_counts() == before
    page = preview.content.decode()
    assert "Preview: nothing written yet" in page
    assert '<th scope="row">Enrollments</th><td class="num">12</td>' in page
    token = preview.context["token"]
    assert token and token not in preview.request["PATH_INFO"]

    applied = client.post(url, {"token": token})

    assert applied.status_code == 200 and applied.context["report"].applied
    assert School.objects.filter(district=world.districts["north"], name="Grand Bend High School").exists()
    assert User.objects.filter(username="Mary Archer").exists()
    # The token is spent: a second apply finds no upload.
    assert client.post(url, {"token": token}).status_code == 404


def test_a_failing_set_shows_its_errors_and_offers_no_apply(world):
    client = signed_in("admin_north")
    url = reverse("oneroster-upload", kwargs={"district_id": world.districts["north"].pk})
    before = table_counts()

    response = client.post(url, {"roster": zipped(sample("moodle-enrol-oneroster-v1p2-messy")), "source": "moodle"})

    assert response.status_code == 400
    assert response.context["token"] == ""
    assert (
        "users.csv, line 7, column dateLastModified: “15/06/2023” is not an ISO 8601 date-time"
        in response.content.decode()
    )
    assert table_counts() == before


def test_another_districts_admin_cannot_use_a_token(world):
    north = reverse("oneroster-upload", kwargs={"district_id": world.districts["north"].pk})
    preview = signed_in("admin_north").post(north, {"roster": zipped(sample("edfi-lms-toolkit-v1p1")), "source": "x"})
    token = preview.context["token"]
    south = reverse("oneroster-upload", kwargs={"district_id": world.districts["south"].pk})

    assert signed_in("admin_south").post(north, {"token": token}).status_code == 404
    assert signed_in("admin_south").post(south, {"token": token}).status_code == 404
    assert not User.objects.filter(username="Mary Archer").exists()


def test_only_zip_files_are_accepted(world):
    url = reverse("oneroster-upload", kwargs={"district_id": world.districts["north"].pk})
    response = signed_in("admin_north").post(url, {"roster": SimpleUploadedFile("users.csv", b"x"), "source": "sis"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"roster": ["Upload the set as a .zip file."]}


def test_a_file_that_is_not_a_zip_is_reported_not_a_crash(world):
    url = reverse("oneroster-upload", kwargs={"district_id": world.districts["north"].pk})
    response = signed_in("admin_north").post(
        url, {"roster": SimpleUploadedFile("roster.zip", b"not a zip"), "source": "sis"}
    )
    assert response.status_code == 400
    assert [str(issue) for issue in response.context["report"].errors] == [
        f"{response.context['report'].errors[0].file}: not a zip file nor a folder"
    ]
    assert response.context["report"].errors[0].file.endswith(".zip")


def test_a_large_deactivation_is_previewed_and_applied_only_when_confirmed(world, tmp_path):
    north = world.districts["north"]
    import_oneroster(write_set(tmp_path / "first", small_set(10)), district=north, system="sis")
    client = signed_in("admin_north")
    url = reverse("oneroster-upload", kwargs={"district_id": north.pk})

    preview = client.post(
        url, {"roster": zipped(write_set(tmp_path / "second", small_set(10, skip=3))), "source": "sis"}
    )

    assert preview.status_code == 400 and preview.context["report"].needs_confirmation
    token = preview.context["token"]
    assert client.post(url, {"token": token}).status_code == 400  # not confirmed: refused again
    assert User.objects.filter(username__startswith="stu", is_active=True).count() == 10

    applied = client.post(url, {"token": token, "confirm_deactivations": "on"})

    assert applied.status_code == 200 and applied.context["report"].applied
    assert User.objects.filter(username__startswith="stu", is_active=True).count() == 7
