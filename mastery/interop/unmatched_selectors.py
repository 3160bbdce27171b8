"""Reads of the district admin's page of unmatched statements (mastery/unmatched_views.py): the open
statements grouped by tool and by the identifiers that did not map, what a stored statement says about itself
(verb, activity name, Caliper event type), and the students and competencies an identifier may be mapped to,
found by a short server-side search. The mapping itself is unmatched.py's."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, StringAgg, Value

from mastery.interop.tools import tool_students
from mastery.models import Competency, ToolCredential, UnmatchedStatement
from profiles.models import District, LearnerProfile

# --- the admin's page: open statements by identifier, and what they may be mapped to ------------------------

SEARCH_RESULTS = 10  # students or competencies a search shows; more means "type more"
SEARCH_MIN_LENGTH = 2
RECENTLY_RESOLVED = 5


def district_tools(district: District) -> QuerySet[ToolCredential]:
    """The tools writing for the district or one of its schools (a credential belongs to one or the other)."""
    return ToolCredential.objects.filter(Q(district=district) | Q(school__district=district))


def tool_scope_name(tool: ToolCredential) -> str:
    """Whom a tool writes for, in words: its school, or its district."""
    return str(tool.school) if tool.school_id is not None else str(tool.district)


def open_unmatched(tools: QuerySet[ToolCredential]) -> QuerySet[UnmatchedStatement]:
    return UnmatchedStatement.objects.filter(tool__in=tools.values("pk"), resolved_at__isnull=True)


def unmatched_groups(tools: QuerySet[ToolCredential]) -> QuerySet:
    """The tools' open statements, one row per tool and unmapped identifiers (person, activity): how many,
    the first and last arrival, the reasons, and the first statement's id (what a mapping form names). Rows
    as dicts, ordered by tool, then the identifiers with most statements first (paginate, then `describe`)."""
    return (
        open_unmatched(tools)
        .values("tool_id", "person", "activity")
        .annotate(
            count=Count("id"),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
            first_id=Min("id"),
            reasons=StringAgg("reason", Value("; "), distinct=True, order_by="reason"),
        )
        .order_by("tool__name", "tool_id", "-count", "person", "activity")
    )


def recently_resolved(tools: QuerySet[ToolCredential]) -> list[dict[str, Any]]:
    """The last few identifiers whose statements were resolved (mapped, or voided), newest first."""
    rows: QuerySet = (
        UnmatchedStatement.objects.filter(tool__in=tools.values("pk"), resolved_at__isnull=False)
        .values("tool__name", "person", "activity")
        .annotate(count=Count("id"), last_resolved_at=Max("resolved_at"))
        .order_by("-last_resolved_at", "tool__name", "person", "activity")
    )
    return list(rows[:RECENTLY_RESOLVED])


@dataclass(frozen=True)
class StatementSummary:
    """What a stored statement says about itself, for a person reading the list (never used to map)."""

    verb: str  # xAPI: the verb's display (else its id); Caliper: the action
    activity_name: str  # xAPI: the activity definition's name; Caliper: the object's (or assignable's) name
    event_type: str  # Caliper only: the event's type


def _language_text(value: Any) -> str:
    """A language map ({"en-US": "attended"}) as one text: English first, else the first entry."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    for language in ("en-US", "en", "en-GB"):
        if isinstance(value.get(language), str):
            return str(value[language])
    return next((text for text in value.values() if isinstance(text, str)), "")


def _mapping(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def statement_summary(statement_format: str, statement: Any) -> StatementSummary:
    if not isinstance(statement, dict):
        return StatementSummary("", "", "")
    if statement_format == UnmatchedStatement.Format.CALIPER:
        target = _mapping(statement, "object")
        named = _mapping(target, "assignable") if statement.get("type") == "GradeEvent" else target
        return StatementSummary(
            str(statement.get("action") or ""), _language_text(named.get("name")), str(statement.get("type") or "")
        )
    verb = _mapping(statement, "verb")
    return StatementSummary(
        _language_text(verb.get("display")) or str(verb.get("id") or ""),
        _language_text(_mapping(statement, "object", "definition").get("name")),
        "",
    )


@dataclass(frozen=True)
class UnmatchedGroup:
    """The open statements of one tool naming the same unmapped person and/or activity."""

    tool: ToolCredential
    first_id: int  # the first open statement: the one a mapping form sends
    person: str
    activity: str
    reasons: str
    count: int
    first_at: datetime.datetime
    last_at: datetime.datetime
    format: str
    summary: StatementSummary

    @property
    def key(self) -> str:
        return form_key(self.first_id)


def form_key(first_id: int) -> str:
    """The prefix of the ids of a group's form elements on the page (its first statement's id)."""
    return f"u{first_id}"


def describe(rows: Sequence[dict[str, Any]]) -> list[UnmatchedGroup]:
    """A page of `unmatched_groups` rows with their tool and their first statement's summary. Two queries."""
    tools = ToolCredential.objects.select_related("school", "district").in_bulk({row["tool_id"] for row in rows})
    firsts = UnmatchedStatement.objects.only("format", "statement").in_bulk([row["first_id"] for row in rows])
    return [
        UnmatchedGroup(
            tool=tools[row["tool_id"]],
            first_id=row["first_id"],
            person=row["person"],
            activity=row["activity"],
            reasons=row["reasons"],
            count=row["count"],
            first_at=row["first_at"],
            last_at=row["last_at"],
            format=firsts[row["first_id"]].format,
            summary=statement_summary(firsts[row["first_id"]].format, firsts[row["first_id"]].statement),
        )
        for row in rows
    ]


def mapping_students(tool: ToolCredential, allowed: QuerySet[LearnerProfile]) -> QuerySet[LearnerProfile]:
    """Of the students the admin may map to (`allowed`, from profiles/access.py), those the tool writes for."""
    return allowed.filter(pk__in=tool_students(tool).values("pk"))


def mapping_competencies() -> QuerySet[Competency]:
    """Competencies an activity may be mapped to: those evidence is recorded on (frameworks are shared by
    every district). A strand that only groups others, or a deprecated item, is not offered."""
    return Competency.objects.filter(assessable=True, deprecated=False)


def _words(query: str) -> list[str]:
    query = " ".join(query.split())
    return query.split(" ")[:4] if len(query) >= SEARCH_MIN_LENGTH else []


def _every_word(words: Sequence[str], fields: Sequence[str]) -> Q:
    """Each word in one of the fields (case-insensitive, anywhere in it)."""
    condition = Q()
    for word in words:
        condition &= reduce(or_, (Q(**{f"{name}__icontains": word}) for name in fields))
    return condition


@dataclass(frozen=True)
class SearchResult:
    query: str
    searched: bool  # False: nothing typed yet, or fewer than SEARCH_MIN_LENGTH characters
    found: list[Any]
    more: bool  # more matched than are shown


def _search(queryset: QuerySet, query: str, fields: Sequence[str], order: Sequence[str]) -> SearchResult:
    words = _words(query)
    if not words:
        return SearchResult(query, False, [], False)
    found = list(queryset.filter(_every_word(words, fields)).order_by(*order)[: SEARCH_RESULTS + 1])
    return SearchResult(query, True, found[:SEARCH_RESULTS], len(found) > SEARCH_RESULTS)


def student_search(students: QuerySet[LearnerProfile], query: str) -> SearchResult:
    """Students by name or username; at most SEARCH_RESULTS of them, with their user and school."""
    return _search(
        students.select_related("user", "school"),
        query,
        ("user__username", "user__first_name", "user__last_name"),
        ("user__last_name", "user__first_name", "user__username"),
    )


def competency_search(query: str) -> SearchResult:
    """Mappable competencies by code or statement; at most SEARCH_RESULTS of them, with their framework."""
    return _search(
        mapping_competencies().select_related("framework"),
        query,
        ("code", "statement"),
        ("framework__name", "code"),
    )
