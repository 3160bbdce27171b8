"""The district admin's page of unmatched statements from learning tools (xAPI statements, Caliper events).

A tool writes for one school or one district; the admins of that district see the open statements of its tools,
grouped by tool and by the identifiers that did not map, and map a person to a student and/or an activity to a
competency (mastery.interop.unmatched.unmatched_map: the mapping, then a replay of the tool's open statements).

Thin: parse, check access (profiles/access.py only: the district, and the students a person may be mapped to),
call one selector or service, render. Anyone but the district's admins gets 404, like an unknown district.
Searches are POSTed (htmx, or the form's Search button without JS), so a student's name never lands in a URL or
an access log; the mapping itself sends ids only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from profiles import access
from profiles.models import District, LearnerProfile

from .interop import unmatched
from .interop import unmatched_selectors as selectors
from .interop.forms import UnmatchedMapForm
from .models import ToolCredential, UnmatchedStatement

GROUPS_PER_PAGE = 25
SEARCH_FIELDS = {"student": "student_query", "competency": "competency_query"}


@dataclass
class Scope:
    """What the signed-in admin works on here: the district, its tools, whom a person may be mapped to."""

    district: District
    tools: QuerySet[ToolCredential]
    students: QuerySet[LearnerProfile]  # from profiles/access.py

    def form(self, data: QueryDict | None = None) -> UnmatchedMapForm:
        return UnmatchedMapForm(data, open_rows=selectors.open_unmatched(self.tools), students=self.students)


def _scope(request: HttpRequest, district_id: int) -> Scope:
    district = access.get_administered_district_or_404(request.user, district_id)
    return Scope(
        district=district,
        tools=selectors.district_tools(district),
        students=access.tool_mapping_students(request.user, district.pk),
    )


def _page_url(district: District, page: int) -> str:
    url = reverse("district-unmatched", args=[district.pk])
    return url if page <= 1 else f"{url}?page={page}"


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() else 1


@dataclass(frozen=True)
class FormState:
    """One group's form as the page shows it: what was typed, what the searches found, what was chosen, and
    what was wrong with it (field label, message)."""

    student_search: selectors.SearchResult
    competency_search: selectors.SearchResult
    student_id: int | None = None
    competency_id: int | None = None
    errors: tuple[tuple[str, str], ...] = ()
    error_fields: frozenset[str] = frozenset()


NOT_SEARCHED = selectors.SearchResult("", False, [], False)
BLANK_FORM = FormState(NOT_SEARCHED, NOT_SEARCHED)


def _posted_id(data: QueryDict, name: str) -> int | None:
    value = data.get(name, "")
    return int(value) if value.isdigit() else None


def _posted_row(scope: Scope, data: QueryDict) -> UnmatchedStatement | None:
    """The open statement of the district's tools a form names (the first of its group), or None."""
    row_id = _posted_id(data, "unmatched")
    if row_id is None:
        return None
    return selectors.open_unmatched(scope.tools).select_related("tool").filter(pk=row_id).first()


def _search(scope: Scope, tool: ToolCredential, data: QueryDict, field: str) -> selectors.SearchResult:
    """A group form's search for `field`: students among those the admin may map to that the tool writes for,
    or competencies."""
    query = data.get(SEARCH_FIELDS[field], "")
    if field == "student":
        return selectors.student_search(selectors.mapping_students(tool, scope.students), query)
    return selectors.competency_search(query)


def _form_state(scope: Scope, data: QueryDict, tool: ToolCredential, form: UnmatchedMapForm | None = None) -> FormState:
    """A posted group form again: its searches re-run, its choices kept, and the form's errors if it was checked."""
    return FormState(
        student_search=_search(scope, tool, data, "student"),
        competency_search=_search(scope, tool, data, "competency"),
        student_id=_posted_id(data, "student"),
        competency_id=_posted_id(data, "competency"),
        errors=() if form is None else _field_errors(form),
        error_fields=frozenset() if form is None else frozenset(form.errors),
    )


def _field_errors(form: UnmatchedMapForm) -> tuple[tuple[str, str], ...]:
    """The form's errors, each with the label of its field ("" for the form as a whole)."""
    return tuple(
        (str(form.fields[name].label) if name in form.fields else "", str(message))
        for name, field_messages in form.errors.items()
        for message in field_messages
    )


def _groups_page(scope: Scope, number: int) -> Page:
    """One page of groups (as selectors.UnmatchedGroup): a count query and the page's rows, then two queries."""
    page: Page = Paginator(selectors.unmatched_groups(scope.tools), GROUPS_PER_PAGE).get_page(number)
    page.object_list = selectors.describe(list(page.object_list))
    return page


def _render(
    request: HttpRequest,
    scope: Scope,
    *,
    posted: tuple[int, FormState] | None = None,
    lost: str = "",
    status: int = 200,
) -> HttpResponse:
    """The page. `posted`: the group (by its first statement) whose form comes back, and how; `lost`: why a
    posted form's statements are not on the list any more."""
    page = _groups_page(scope, _page_number(request))
    rows = [
        (group, posted[1] if posted is not None and posted[0] == group.first_id else BLANK_FORM)
        for group in page.object_list
    ]
    context = {
        "district": scope.district,
        "page": page,
        "rows": rows,
        "open_count": selectors.open_unmatched(scope.tools).count(),
        "resolved": selectors.recently_resolved(scope.tools),
        "lost": lost,
        "form_action": _page_url(scope.district, page.number),
        "search_url": reverse("district-unmatched-search", args=[scope.district.pk]),
        "min_length": selectors.SEARCH_MIN_LENGTH,
    }
    return render(request, "mastery/unmatched.html", context, status=status)


def _report_text(report: unmatched.ReplayReport) -> str:
    recorded = f"{report.recorded} statement{'' if report.recorded == 1 else 's'} recorded"
    others = report.resolved - report.recorded
    nothing = f", {others} resolved with nothing to record (no score, or stored before)" if others else ""
    return f"Mapped: {recorded}{nothing}, {report.still_unmatched} still unmatched from this tool."


def _map(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = scope.form(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            report = unmatched.unmatched_map(
                unmatched=data["unmatched"], student=data["student"], competency=data["competency"]
            )
        except ValueError as error:  # resolved between the form's check and the service's lock
            form.add_error("unmatched", str(error))
        else:
            messages.success(request, _report_text(report))  # counts only: no name or identifier in the session
            return HttpResponseRedirect(_page_url(scope.district, _page_number(request)))
    row = form.cleaned_data.get("unmatched")
    if row is None or "unmatched" in form.errors:
        return _render(request, scope, lost=UnmatchedMapForm.LOST, status=400)
    return _render(request, scope, posted=(row.pk, _form_state(scope, request.POST, row.tool, form)), status=400)


@require_http_methods(["GET", "POST"])
@login_required
def district_unmatched(request: HttpRequest, district_id: int) -> HttpResponse:
    """GET: the open statements of the district's tools. POST `action=map`: map, replay, and back to the list
    with the report; a refused form comes back with its errors (400), nothing changed. Any other POST is a
    search of one group's form (its Search button, without JS): the page with that group's choices."""
    scope = _scope(request, district_id)
    if request.method != "POST":
        return _render(request, scope)
    if request.POST.get("action") == "map":
        return _map(request, scope)
    row = _posted_row(scope, request.POST)
    if row is None:
        return _render(request, scope, lost=UnmatchedMapForm.LOST, status=400)
    return _render(request, scope, posted=(row.pk, _form_state(scope, request.POST, row.tool)))


@require_POST
@login_required
def district_unmatched_search(request: HttpRequest, district_id: int) -> HttpResponse:
    """The choices of one group's form, for htmx as the admin types: `field` (student or competency), the
    query, and the group's first statement (whose tool decides which students may be chosen)."""
    scope = _scope(request, district_id)
    field = request.POST.get("field", "")
    row = _posted_row(scope, request.POST)
    if field not in SEARCH_FIELDS or row is None:
        raise Http404("No such search.")
    context = {
        "field": field,
        "prefix": selectors.form_key(row.pk),
        "result": _search(scope, row.tool, request.POST, field),
        "chosen": _posted_id(request.POST, field),
        "min_length": selectors.SEARCH_MIN_LENGTH,
    }
    return render(request, "mastery/_unmatched_choices.html", context)


@require_GET
@login_required
def district_unmatched_count(request: HttpRequest, district_id: int) -> HttpResponse:
    """The district home's link to the page, with the open count (loaded there with htmx)."""
    scope = _scope(request, district_id)
    context = {"district": scope.district, "open_count": selectors.open_unmatched(scope.tools).count()}
    return render(request, "mastery/_unmatched_link.html", context)
