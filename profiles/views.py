"""HTML pages of the foundation: sign-in and sign-out, each role's home, sections, schools, learner profiles.

Thin: parse, check access (profiles/access.py only), call one selector or service, render.
Unknown and forbidden records both answer 404; a record the user sees but may not change answers 403.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from . import access, selectors, services
from .exports import oneroster as roster_export
from .forms import GoalEditForm, GoalForm, LearnerProfileForm, SignInForm
from .imports import uploads
from .imports.oneroster import import_oneroster
from .models import District, LearnerProfile, Role, User

# --- helpers -------------------------------------------------------------------------------------


def _viewer(request: HttpRequest) -> User:
    """The signed-in user (every page but sign-in requires one)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _require_role(user: User, role: str) -> None:
    """A role's home is not there for users without the role (404, like any page they cannot see)."""
    if role not in access.user_roles(user) and not user.is_superuser:
        raise Http404("No such page.")


def _form_page(request: HttpRequest, template: str, context: dict[str, Any], form: Form) -> HttpResponse:
    """A form page; a submitted form with errors answers 400."""
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {**context, "form": form}, status=status)


def _save(form: Form, write: Any) -> bool:
    """Run a service write for a valid form; a model-level refusal becomes form errors (nothing saved)."""
    if not form.is_valid():
        return False
    try:
        write(form.cleaned_data)
    except ValidationError as error:
        known = set(form.fields) | {NON_FIELD_ERRORS}
        on_fields = hasattr(error, "error_dict") and set(error.error_dict) <= known
        form.add_error(None, error if on_fields else error.messages)
        return False
    return True


def _editable_profile(request: HttpRequest, student_id: int) -> LearnerProfile:
    """404 when the student is unknown or unseen, 403 when seen but not editable by the viewer."""
    profile = access.get_learner_profile_or_404(request.user, student_id)
    if not access.can_edit_learner_profile(request.user, profile):
        raise PermissionDenied("You can read this learner profile but not change it.")
    return profile


def _goal_profile(request: HttpRequest, student_id: int) -> LearnerProfile:
    profile = access.get_learner_profile_or_404(request.user, student_id)
    if not access.can_manage_goals(request.user, profile):
        raise PermissionDenied("You can read this student's goals but not change them.")
    return profile


def _profile_url(student_id: int) -> str:
    return reverse("student-profile", args=[student_id])


# --- sign-in and sign-out ------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


# --- home: each role lands on its own page --------------------------------------------------------


def _principal_home(user: User) -> str:
    school_ids = list(access.overview_schools(user).values_list("pk", flat=True)[:2])
    if len(school_ids) == 1:
        return reverse("school-detail", args=[school_ids[0]])
    return reverse("school-list")


def _student_home(user: User) -> str | None:
    if access.visible_learner_profiles(user).filter(pk=user.pk).exists():
        return _profile_url(user.pk)
    return None


def _role_home(user: User, role: str | None) -> str | None:
    if role == Role.DISTRICT_ADMIN:
        return reverse("district-home")
    if role == Role.PRINCIPAL:
        return _principal_home(user)
    if role == Role.TEACHER:
        return reverse("teacher-home")
    if role == Role.STUDENT:
        return _student_home(user)
    if role == Role.GUARDIAN:
        return reverse("guardian-home")
    return None


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    role = access.primary_role(user)
    target = _role_home(user, role)
    if target is not None:
        return redirect(target)
    return render(request, "profiles/no_role.html", {"role": role})


# The teacher's home ("teacher-home") is the Today page: pathways.today_views.today (alerts, small groups and
# these rosters).


@require_GET
@login_required
def guardian_home(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    _require_role(user, Role.GUARDIAN)
    children = selectors.children_of(user, access.visible_learner_profiles(user))
    return render(request, "profiles/guardian_home.html", {"children": children})


@require_GET
@login_required
def district_home(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    districts = access.administered_districts(user)
    if not districts.exists():
        raise Http404("No district to show.")
    schools = selectors.district_schools(districts, access.overview_schools(user))
    return render(request, "profiles/district_home.html", {"schools": schools})


# --- schools and sections -------------------------------------------------------------------------


@require_GET
@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    schools = selectors.schools_with_counts(access.overview_schools(request.user).select_related("district"))
    if not schools:
        raise Http404("No school to show.")
    return render(request, "profiles/school_list.html", {"schools": schools})


@require_GET
@login_required
def school_detail(request: HttpRequest, school_id: int) -> HttpResponse:
    school = access.get_overview_school_or_404(request.user, school_id)
    grades = selectors.school_overview(school)
    return render(request, "profiles/school_detail.html", {"school": school, "grades": grades})


@require_GET
@login_required
def section_detail(request: HttpRequest, section_id: int) -> HttpResponse:
    section = access.get_section_or_404(request.user, section_id)
    roster = selectors.section_roster(section, visible_students=access.visible_students(request.user))
    context = {
        "section": section,
        "roster": roster,
        "show_class_overviews": access.can_see_class_overviews(request.user),
    }
    return render(request, "profiles/section_detail.html", context)


# --- learner profiles and goals ---------------------------------------------------------------------


@require_GET
@login_required
def student_profile(request: HttpRequest, student_id: int) -> HttpResponse:
    profile = access.get_learner_profile_or_404(request.user, student_id)
    context = {
        **selectors.learner_profile_detail(profile),
        "can_edit": access.can_edit_learner_profile(request.user, profile),
        "can_export_record": access.can_export_student_record(request.user, profile),
        "can_manage_goals": access.can_manage_goals(request.user, profile),
        # Pacing alerts are written for teachers: their card is on the page for staff who see the student only.
        "sees_alerts": access.alert_students(request.user).filter(pk=profile.pk).exists(),
    }
    return render(request, "profiles/student_profile.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def student_profile_edit(request: HttpRequest, student_id: int) -> HttpResponse:
    profile = _editable_profile(request, student_id)
    if request.method != "POST":
        form = LearnerProfileForm(initial=LearnerProfileForm.initial_from(profile))
    else:
        form = LearnerProfileForm(request.POST)
        editor = _viewer(request)
        if _save(form, lambda data: services.learner_profile_update(profile=profile, changes=data, changed_by=editor)):
            messages.success(request, "Learner profile saved.")
            return HttpResponseRedirect(_profile_url(profile.pk))
    return _form_page(request, "profiles/student_profile_form.html", {"profile": profile}, form)


@require_http_methods(["GET", "POST"])
@login_required
def goal_create(request: HttpRequest, student_id: int) -> HttpResponse:
    profile = _goal_profile(request, student_id)
    form = GoalForm(request.POST) if request.method == "POST" else GoalForm()

    def write(data: dict[str, Any]) -> None:
        services.goal_create(student=profile.user, set_with=_viewer(request), **data)

    if request.method == "POST" and _save(form, write):
        messages.success(request, "Goal added.")
        return HttpResponseRedirect(_profile_url(profile.pk))
    return _form_page(request, "profiles/goal_form.html", {"profile": profile, "goal": None}, form)


@require_http_methods(["GET", "POST"])
@login_required
def goal_edit(request: HttpRequest, goal_id: int) -> HttpResponse:
    goal = access.get_goal_or_404(request.user, goal_id)
    profile = _goal_profile(request, goal.student_id)
    if request.method != "POST":
        form = GoalEditForm(initial=GoalEditForm.initial_from(goal))
    else:
        form = GoalEditForm(request.POST)
        if _save(form, lambda data: services.goal_update(goal=goal, changes=data)):
            messages.success(request, "Goal saved.")
            return HttpResponseRedirect(_profile_url(profile.pk))
    return _form_page(request, "profiles/goal_form.html", {"profile": profile, "goal": goal}, form)


# --- OneRoster upload (district admins) ------------------------------------------------------------
# In-process: the import runs inside the request, for sets up to uploads.MAX_UPLOAD_BYTES. The first
# POST previews (the whole import, rolled back); the second, with the preview's token, applies.


@require_http_methods(["GET", "POST"])
@login_required
def oneroster_upload(request: HttpRequest, district_id: int) -> HttpResponse:
    district = access.get_administered_district_or_404(request.user, district_id)
    context: dict[str, Any] = {
        "district": district,
        "max_mb": uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
        "export_versions": roster_export.VERSIONS[::-1],  # the newest first
        "export_sources": roster_export.export_sources(district),
    }
    if request.method == "POST" and "token" in request.POST:
        return _oneroster_apply(request, district, context)
    form = uploads.UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        source = form.cleaned_data["source"]
        token, path = uploads.keep_upload(request.session, district.pk, form.cleaned_data["roster"], source)
        report = import_oneroster(path, district=district, system=source, dry_run=True)
        can_apply = report.ok or report.needs_confirmation
        if not can_apply:
            uploads.forget_upload(request.session, token)
        context.update(report=report, token=token if can_apply else "", source=source)
        return render(request, "profiles/oneroster_upload.html", context, status=200 if report.ok else 400)
    return _form_page(request, "profiles/oneroster_upload.html", context, form)


def _oneroster_apply(request: HttpRequest, district: District, context: dict[str, Any]) -> HttpResponse:
    token = request.POST["token"]
    kept = uploads.kept_upload(request.session, district.pk, token)
    if kept is None:
        raise Http404("That upload has expired; upload the file again.")
    path, source = kept
    report = import_oneroster(
        path, district=district, system=source, confirm_deactivations=request.POST.get("confirm_deactivations") == "on"
    )
    if report.applied:
        uploads.forget_upload(request.session, token)
    context.update(report=report, token="" if report.applied else token, source=source)
    return render(request, "profiles/oneroster_upload.html", context, status=200 if report.ok else 400)


# --- OneRoster export (district admins) ------------------------------------------------------------
# The zip is written to a temporary file, not memory (about 5 MB for 50,000 students), then sent.


@require_GET
@login_required
def oneroster_export(request: HttpRequest, district_id: int) -> HttpResponseBase:
    district = access.get_administered_district_or_404(request.user, district_id)
    sources = roster_export.export_sources(district)
    version = request.GET.get("version", roster_export.VERSIONS[-1])
    source = request.GET.get("source", sources[0])
    if version not in roster_export.VERSIONS or source not in sources:
        return HttpResponseBadRequest("Choose a OneRoster version (1.1 or 1.2) and one of the district's sources.")
    file = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent, which deletes it)
    try:
        roster_export.export_oneroster(file, district=district, version=version, source=source)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    # Ids only in the file name: it lands in download folders and browser history.
    name = f"oneroster-{version}-district-{district.pk}.zip"
    response = FileResponse(file, as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache or the browser
    return response
