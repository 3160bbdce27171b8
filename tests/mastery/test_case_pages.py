"""The CASE upload page (district admins) and the CASE JSON download (/api/v1/frameworks/<id>/case/, staff)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mastery.interop.case import case_export, case_import
from mastery.models import Framework
from tests.mastery.test_case_support import WSCB, package, sample_bytes, stored_counts
from tests.world import PASSWORD, World

pytestmark = pytest.mark.django_db
PAGE = reverse("framework-case-import")


def client_for(user: str) -> Client:
    client = Client()
    assert client.login(username=user, password=PASSWORD)
    return client


def upload(client: Client, data: bytes, name: str = "framework.json"):
    return client.post(PAGE, {"file": SimpleUploadedFile(name, data, content_type="application/json")})


def test_a_district_admin_imports_a_file_and_sees_the_report_and_the_download_link(world: World):
    client = client_for("admin_north")
    response = upload(client, sample_bytes(WSCB))
    assert response.status_code == 200
    page = response.content.decode()
    framework = Framework.objects.get()
    assert "<li>competencies: 16 created, 0 updated, 0 deprecated</li>" in page
    assert "3 warnings (read through, not fatal)" in page
    assert f'href="/api/v1/frameworks/{framework.pk}/case/?download=1"' in page

    again = upload(client, sample_bytes(WSCB)).content.decode()
    assert "nothing changed" in again
    assert stored_counts()["competencies"] == 16


def test_a_bad_file_is_refused_on_the_page_with_its_paths_and_nothing_is_stored(world: World):
    response = upload(client_for("admin_north"), package("doc-bad", [{"identifier": "x"}], []))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert "<li>CFItems[0].fullStatement (x): is required [required]</li>" in page
    assert stored_counts()["frameworks"] == 0


@pytest.mark.parametrize("user", ["t_a1", "p_a", "s_a1_1", "g_1"])
def test_only_district_admins_may_post_a_framework(world: World, user):
    assert upload(client_for(user), sample_bytes(WSCB)).status_code == 404
    assert stored_counts()["frameworks"] == 0


def test_staff_download_the_framework_as_case_json_with_astral_characters_as_written(world: World):
    report = case_import(data=sample_bytes("Utf8TestFramework.json"))
    url = reverse("framework-case-api", args=[report.framework_id])
    response = client_for("t_a1").get(url + "?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="framework-{report.framework_id}-case.json"'
    assert "UTF8 \U0001d451 Test".encode() in response.content
    framework = Framework.objects.get(pk=report.framework_id)
    assert json.loads(response.content) == json.loads(json.dumps(case_export(framework=framework)))
    assert "Content-Disposition" not in client_for("t_a1").get(url)


@pytest.mark.parametrize("user", ["s_a1_1", "g_1"])
def test_students_and_guardians_get_404_for_the_download(world: World, user):
    report = case_import(data=sample_bytes("Utf8TestFramework.json"))
    assert client_for(user).get(reverse("framework-case-api", args=[report.framework_id])).status_code == 404
    assert client_for("t_a1").get(reverse("framework-case-api", args=[report.framework_id + 1000])).status_code == 404
