"""A OneRoster 1.1 or 1.2 bulk CSV export of one district: a zip written row by row, a few queries a file.

Files: manifest.csv; orgs.csv (the district and its schools); academicSessions.csv (one session for the
terms it became at every school); classes.csv (sections) and courses.csv (the classes' courses);
users.csv; roles.csv (1.2; in 1.1 a user's role and orgs are columns of users.csv); enrollments.csv; and
demographics.csv only when the district opted in to demographics (else the manifest marks it absent).
The header of each file is the importer's columns (`imports/spec.py`) less those the version lacks, then
the extension columns (`metadata.*`, vendor columns) the source system sent and we kept.

sourcedIds: each SourceIdentity the chosen source system has for a row, one CSV row apiece (two semester
enrollments merged into one enrollment stay two rows), else a UUID5 of a fixed namespace, the table and the
primary key, so that every export gives a row the same id. A row the source sent goes back with what it
sent and we kept (`SourceIdentity.extra`: grades as written, "09", classCode, extension columns); a row it
did not send gets our values. Every value is one `imports/apply.py` reads back into the row it came from,
so importing an export into its district with the same source changes nothing. Passwords are never written.

Status: inactive role memberships and enrollments are written as `tobedeleted`, not left out. The importer
reads a tobedeleted row as that same inactive row, so a re-import into this district changes nothing and an
import into a fresh district recreates them, inactive; a row left out would be lost there (a re-import here
would be stable either way: a bulk file deactivates only rows that are still active). Inactive users stay
in users.csv with enabledUser false, since their memberships and enrollments name them; their row is
tobedeleted only where the importer reads that back the same (see `_user_deleted_1_1`, `_user_deleted_1_2`).
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import logging
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, models, transaction
from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from ..access import ROLE_PRIORITY
from ..imports.apply import DEMOGRAPHIC_FLAGS, GUARDIAN_ROLES, SESSION_KINDS, grade_of
from ..imports.spec import COLUMNS, FILE_ORDER, KNOWN_OTHER_FILES, LEFT_OUT, ONLY_IN_1_2
from ..imports.validate import TOBEDELETED
from ..modelbase import grade_code
from ..models import (
    Demographics,
    District,
    Enrollment,
    GuardianLink,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    SourceIdentity,
    Term,
    User,
)

logger = logging.getLogger(__name__)

VERSIONS = ("1.1", "1.2")
# The source system whose ids are ours: a row it never linked gets a derived id (all of them, unless a set we
# exported was imported under this name).
DEFAULT_SOURCE = "plplatform"
# Fixed for good: derived sourcedIds are UUID5s in this namespace, so two exports give a row the same id.
NAMESPACE = uuid.UUID("0b6f3d52-5a4e-4f7c-9e1d-6c2b8a4f1e37")
BATCH = 2000  # rows fetched per round trip of a server-side cursor

# Term kind → OneRoster session type, the importer's mapping reversed; trimester and quarter have no type of
# their own and are written as "term" (a re-import makes them terms of kind "term").
SESSION_TYPES: dict[str, str] = {kind: name for name, kind in SESSION_KINDS.items()}
# Platform role → OneRoster role, as the importer maps them back (apply.SCHOOL_ROLES, DISTRICT_ROLES).
# Guardians are written as the kind of their links (parent, relative, guardian): see guardian_kind.
ROLE_NAMES: dict[str, dict[str, str]] = {
    "1.1": {
        Role.STUDENT: "student",
        Role.TEACHER: "teacher",
        Role.PRINCIPAL: "administrator",
        Role.DISTRICT_ADMIN: "administrator",
    },
    "1.2": {
        Role.STUDENT: "student",
        Role.TEACHER: "teacher",
        Role.PRINCIPAL: "principal",
        Role.DISTRICT_ADMIN: "districtAdministrator",
    },
}

Row = dict[str, str]
Values = Mapping[str, Any]  # a row of a values() query


# --- the shape of the files ----------------------------------------------------------------------------


def columns(name: str, version: str) -> list[str]:
    """A file's spec columns in a version: the importer's columns, less those the version lacks."""
    left_out = LEFT_OUT[version].get(name, set())
    return [column for column in COLUMNS[name] if column not in left_out]


def manifest_files(version: str) -> list[str]:
    """Every file a manifest of the version names (the platform writes some; the rest are absent)."""
    names = {*FILE_ORDER, *KNOWN_OTHER_FILES} - {"manifest"}
    return sorted(names - ONLY_IN_1_2 if version == "1.1" else names)


def derived_id(table: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{table}:{key}"))


def row_id(model: type[models.Model], pk: object) -> str:
    """The sourcedId of a row no source system linked: the same in every export."""
    return derived_id(model._meta.db_table, pk)


def written_grades(sent: str, linked: bool, grade: int | None, default: int | None) -> str:
    """A grades column: as the source wrote it ("09") while the importer still reads the row's grade from it
    (a blank column gives the school's lowest grade, `default`); else our grade, coded."""
    if linked and (grade is None or _imported_grade(sent, default) == grade):
        return sent
    return "" if grade is None else grade_code(grade)


def _imported_grade(grades: str, default: int | None) -> int | None:
    grade = grade_of(grades)
    return default if grade is None else grade


def guardian_kind(relationships: list[str]) -> str:
    """A guardian's OneRoster role: the kind of their links, as the importer names a link after the role."""
    kinds = sorted(set(relationships) & GUARDIAN_ROLES)
    return kinds[0] if kinds else "guardian"


def timestamp(moment: datetime.datetime) -> str:
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _iso(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""


def school_years(terms: Sequence[Values]) -> dict[int, Values]:
    """Term pk → the school year it belongs to: its parent, else a school year of its school spanning it (sets
    often leave semesters without a parent), else itself."""
    spans: dict[int, list[Values]] = defaultdict(list)
    for term in terms:
        if term["kind"] == Term.Kind.SCHOOL_YEAR:
            spans[term["school_id"]].append(term)
    by_pk = {term["pk"]: term for term in terms}

    def year_of(term: Values) -> Values:
        if term["parent_id"] in by_pk:
            return by_pk[term["parent_id"]]
        spanning = (
            year
            for year in spans[term["school_id"]]
            if year["start_date"] <= term["start_date"] and year["end_date"] >= term["end_date"]
        )
        return next(spanning, term)

    return {term["pk"]: year_of(term) for term in terms}


# --- sourcedIds ---------------------------------------------------------------------------------------
# SourceIdentity is read as one stream per file, ordered by the row each identity names and merged with the
# file's rows (`with_ids`); another row's id comes from a map filled before (`IdMap`). Never a lookup per
# row: while the table has no statistics (after a large import, before it is analyzed), Postgres answers
# such a lookup by walking its (system, entity_type, external_id) index for every row, and the export of a
# 50,000-student district would take hours instead of seconds.


def linked_ids(system: str, entity_type: str, rows: QuerySet) -> Iterator[Values]:
    """The source's identities of `rows` (sourcedId and the extra kept for it), ordered by the row they name."""
    return (
        SourceIdentity.objects.filter(system=system, entity_type=entity_type, object_id__in=rows.values("pk"))
        .order_by("object_id", "external_id")
        .values("object_id", "external_id", "extra")
        .iterator(chunk_size=BATCH)
    )


def with_ids(
    rows: Iterable[Values],
    identities: Iterable[Values],
    key: Callable[[Values], Any] = itemgetter("pk"),
    identity_key: Callable[[Values], Any] = itemgetter("object_id"),
) -> Iterator[tuple[Values, list[Values]]]:
    """Each row with the identities that name it: a merge of two streams sorted alike on their keys."""
    groups = itertools.groupby(identities, key=identity_key)
    group = next(groups, None)
    for row in rows:
        while group is not None and group[0] < key(row):
            group = next(groups, None)  # an identity of a row not written (none should be)
        if group is not None and group[0] == key(row):
            yield row, list(group[1])
            group = next(groups, None)
        else:
            yield row, []


@dataclass(frozen=True)
class Sourced:
    """One sourcedId to write a row under."""

    id: str
    extra: dict[str, str]  # what the source sent that the row has no column for
    linked: bool  # the source system sent the row


def sourced(identities: list[Values], model: type[models.Model], pk: object) -> list[Sourced]:
    """Each sourcedId the source linked to the row, else the one derived from its key."""
    if identities:
        return [Sourced(identity["external_id"], identity["extra"], True) for identity in identities]
    return [Sourced(row_id(model, pk), {}, False)]


@dataclass
class IdMap:
    """Row pk → how other rows name it: the first sourcedId the source gave it (as `sourced` writes it
    first), else the one derived from its key."""

    model: type[models.Model]
    linked: dict[int, str] = field(default_factory=dict)

    def add(self, identities: Iterable[Values]) -> None:
        for identity in identities:
            self.linked.setdefault(identity["object_id"], identity["external_id"])

    def __getitem__(self, pk: int) -> str:
        return self.linked.get(pk) or row_id(self.model, pk)


def extension_columns(system: str, linked: Q, header: list[str]) -> list[str]:
    """Columns the source sent beyond the header (`metadata.*`, vendor columns, another version's), as kept."""
    keys = (
        SourceIdentity.objects.filter(linked, system=system)
        .annotate(key=Func(F("extra"), function="jsonb_object_keys", output_field=models.CharField()))
        .values_list("key", flat=True)
        .distinct()
    )
    return sorted(key for key in keys if key not in header and "password" not in key.lower())


def export_sources(district: District) -> list[str]:
    """Source systems whose sourcedIds an export of the district can carry: each that linked one of its
    schools, then the platform's own."""
    linked = (
        SourceIdentity.objects.filter(
            entity_type="org.school", object_id__in=School.objects.filter(district=district).values("pk")
        )
        .exclude(system=DEFAULT_SOURCE)
        .order_by("system")
        .values_list("system", flat=True)
        .distinct()
    )
    return [*linked, DEFAULT_SOURCE]


# --- memberships ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A role membership, as the users and roles files need it."""

    role: str
    school: int | None
    active: bool
    pk: int


def member_order(member: Member) -> tuple:
    """A user's memberships, the one that makes their primary role and org first: active ones, then the
    platform's main roles first (access.ROLE_PRIORITY)."""
    return (not member.active, ROLE_PRIORITY.index(Role(member.role)), member.school or 0, member.pk)


def members_of(memberships: Iterable[dict]) -> list[Member]:
    return sorted((Member(**membership) for membership in memberships), key=member_order)


def _enrolled_as(user_ref: str) -> ArraySubquery:
    """How the user is enrolled (student, teacher). Anywhere: found through the user's index alone, where a
    join to the district's sections makes the planner walk every section for every user."""
    enrolled = Enrollment.objects.filter(user=OuterRef(user_ref)).order_by("role")
    return ArraySubquery(enrolled.values("role").distinct())


def _relationships(user_ref: str) -> ArraySubquery:
    """The kinds of the user's links as a guardian (parent, relative...)."""
    links = GuardianLink.objects.filter(guardian=OuterRef(user_ref)).order_by("relationship")
    return ArraySubquery(links.values("relationship"))


def fallback_role(user: Values) -> str:
    """The role of someone the roster names without a membership in the district (enrolled, a learner, a
    guardian of one). Written at the district org: the spec wants a role and an org for every user, and the
    importer needs the role to pair guardians with students, yet makes no membership of it."""
    if user["learner_profile__grade_level"] is not None or Enrollment.Role.STUDENT in user["enrolled_as"]:
        return "student"
    if Enrollment.Role.TEACHER in user["enrolled_as"]:
        return "teacher"
    return guardian_kind(user["relationships"]) if user["relationships"] else ""


def _user_deleted_1_1(user: Values, held: list[Member]) -> bool:
    """In 1.1 a tobedeleted user row also deactivates the memberships it names: only for an inactive user
    whose memberships of that role are all inactive."""
    return not user["is_active"] and bool(held) and not any(member.active for member in held)


def _user_deleted_1_2(user: Values) -> bool:
    """In 1.2 a tobedeleted user row only keeps the importer from making a learner profile: for an inactive
    user who has none."""
    return not user["is_active"] and user["learner_profile__grade_level"] is None


# --- the export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    version: str
    source: str
    rows: dict[str, int]  # file name → rows written (manifest: its properties)
    seconds: float

    def as_text(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in self.rows.items() if name != "manifest")
        return f"OneRoster {self.version}, sourcedIds of “{self.source}”: {counts} ({self.seconds:.1f} s)"


class DistrictExport:
    """The files of one district's export, in an order where what a row refers to is written first."""

    def __init__(self, district: District, *, version: str, source: str, now: datetime.datetime) -> None:
        self.district = district
        self.version = version
        self.source = source
        self.now = now
        self.stamp = timestamp(now)
        self.district_id = ""  # the district org's sourcedId; "" when orgs.csv leaves it out
        self.school_ids = IdMap(School)
        self.section_ids = IdMap(Section)
        self.user_ids = IdMap(User)
        self.session_ids: dict[int, str] = {}  # Term pk → its session's sourcedId
        self.year_ids: dict[int, str] = {}  # Term pk → sourcedId of its school year's session
        self.courses: dict[str, Row] = {}  # course sourcedId → row, gathered while the classes are written
        self.in_district = Q(school__district=district) | Q(district=district)  # of role memberships

    # --- the district's rows, as querysets -----------------------------------------------------------------

    def school_rows(self) -> QuerySet[School]:
        return School.objects.filter(district=self.district)

    def term_rows(self) -> QuerySet[Term]:
        return Term.objects.filter(school__district=self.district)

    def section_rows(self) -> QuerySet[Section]:
        return Section.objects.filter(school__district=self.district)

    def membership_rows(self) -> QuerySet[RoleMembership]:
        return RoleMembership.objects.filter(self.in_district)

    def enrollment_rows(self) -> QuerySet[Enrollment]:
        return Enrollment.objects.filter(section__school__district=self.district)

    def user_rows(self) -> QuerySet[User]:
        """Everyone the district's roster names: members of its schools and of the district, people enrolled
        in its sections, its learners, and their guardians."""
        members = self.membership_rows().values("user_id")
        enrolled = self.enrollment_rows().values("user_id")
        learners = LearnerProfile.objects.filter(school__district=self.district).values("user_id")
        children = Q(student__in=members) | Q(student__in=enrolled) | Q(student__in=learners)
        guardians = GuardianLink.objects.filter(children).values("guardian_id")
        return User.objects.filter(Q(pk__in=members) | Q(pk__in=enrolled) | Q(pk__in=learners) | Q(pk__in=guardians))

    def demographics_rows(self) -> QuerySet[Demographics]:
        return Demographics.objects.filter(student__in=self.user_rows().values("pk"))

    def _linked(self, entity_type: str, rows: QuerySet) -> Iterator[Values]:
        return linked_ids(self.source, entity_type, rows)

    # --- the files ---------------------------------------------------------------------------------------

    def files(self) -> list[tuple[str, Callable[[], Iterator[Row]], Q | None]]:
        """(file, its rows, which identities may hold its extension columns)."""

        def linked(entity_type: str, rows: QuerySet) -> Q:
            return Q(entity_type=entity_type, object_id__in=rows.values("pk"))

        orgs = Q(entity_type="org.district", object_id=self.district.pk) | linked("org.school", self.school_rows())
        files: list[tuple[str, Callable[[], Iterator[Row]], Q | None]] = [
            ("orgs", self.orgs, orgs),
            ("academicSessions", self.sessions, linked("academicSession", self.term_rows())),
            ("classes", self.classes, linked("classes", self.section_rows())),
            ("courses", self.course_rows, None),
            ("users", self.users, linked("users", self.user_rows())),
        ]
        if self.version == "1.2":
            files.append(("roles", self.roles, None))  # the importer keeps nothing of a roles row
        files.append(("enrollments", self.enrollments, linked("enrollments", self.enrollment_rows())))
        if self.district.import_demographics:
            files.append(("demographics", self.demographics, linked("demographics", self.demographics_rows())))
        return files

    def write(self, archive: zipfile.ZipFile) -> dict[str, int]:
        files = self.files()
        header = ["propertyName", "value"]
        written = {"manifest": write_csv(archive, "manifest", header, self.manifest(files), modified=self.now)}
        for name, rows, linked in files:
            header = columns(name, self.version)
            if linked is not None:
                header += extension_columns(self.source, linked, header)
            written[name] = write_csv(archive, name, header, rows(), modified=self.now)
        return written

    def manifest(self, files: list[tuple[str, Any, Any]]) -> Iterator[Row]:
        bulk = {name for name, _, _ in files}
        properties = [("manifest.version", "1.0"), ("oneroster.version", self.version)]
        properties += [(f"file.{name}", "bulk" if name in bulk else "absent") for name in manifest_files(self.version)]
        properties += [("source.systemName", "plplatform"), ("source.systemCode", self.source)]
        return ({"propertyName": key, "value": value} for key, value in properties)

    def _record(self, sourced_id: str, active: bool = True) -> Row:
        return {"sourcedId": sourced_id, "status": "active" if active else TOBEDELETED, "dateLastModified": self.stamp}

    # --- orgs, sessions, classes, courses -----------------------------------------------------------------

    def orgs(self) -> Iterator[Row]:
        schools = list(
            with_ids(
                self.school_rows().order_by("pk").values("pk", "name", "code"),
                self._linked("org.school", self.school_rows()),
            )
        )
        district_rows = self._district_rows(schools_linked=any(identities for _, identities in schools))
        self.district_id = district_rows[0].id if district_rows else ""
        for _, identities in schools:
            self.school_ids.add(identities)
        for row in district_rows:
            yield {**row.extra, **self._record(row.id), "name": self.district.name, "type": "district"}
        for school, identities in schools:
            for row in sourced(identities, School, school["pk"]):
                yield {
                    **row.extra,
                    **self._record(row.id),
                    "name": school["name"],
                    "type": "school",
                    "identifier": school["code"],  # the importer makes the school's code of it
                    "parentSourcedId": self.district_id,
                }

    def _district_rows(self, *, schools_linked: bool) -> list[Sourced]:
        """The district org as the source linked it. A source that linked schools but never the district
        (its sets had no district org) gets none: a re-import would link the district anew."""
        identities = list(self._linked("org.district", District.objects.filter(pk=self.district.pk)))
        if identities or not schools_linked:
            return sourced(identities, District, self.district.pk)
        return []

    def sessions(self) -> Iterator[Row]:
        rows = (
            self.term_rows()
            .order_by("pk")
            .values("pk", "school_id", "parent_id", "name", "kind", "start_date", "end_date")
        )
        terms = [
            {**term, "ids": ids} for term, ids in with_ids(rows, self._linked("academicSession", self.term_rows()))
        ]
        terms.sort(key=itemgetter("start_date", "name", "pk"))
        years = school_years(terms)
        self.session_ids = {term["pk"]: self._session_id(term) for term in terms}
        self.year_ids = {pk: self.session_ids[year["pk"]] for pk, year in years.items()}
        written: set[str] = set()
        for term in terms:
            session = self.session_ids[term["pk"]]
            if session in written:
                continue  # the same session at another school
            written.add(session)
            yield {
                **(term["ids"][0]["extra"] if term["ids"] else {}),
                **self._record(session),
                "title": term["name"],
                "type": SESSION_TYPES.get(term["kind"], "term"),
                "startDate": _iso(term["start_date"]),
                "endDate": _iso(term["end_date"]),
                "parentSourcedId": self.session_ids.get(term["parent_id"], ""),
                "schoolYear": str(years[term["pk"]]["end_date"].year),  # 2021 for 2020-2021
            }

    def _session_id(self, term: Values) -> str:
        """The session a term is: the one the source sent (the term's identity is "session@school", the way
        the importer makes a session one term per school), else one derived from what the term is, so that
        the same term at every school is one session (and imports as one term per school again)."""
        if term["ids"]:
            return term["ids"][0]["external_id"].rsplit("@", 1)[0]
        key = f"{self.district.pk}:{term['name']}:{term['kind']}:{term['start_date']}:{term['end_date']}"
        return derived_id(Term._meta.db_table, key)

    def classes(self) -> Iterator[Row]:
        sections = (
            self.section_rows()
            .order_by("pk")
            .values("pk", "school_id", "term_id", "code", "name", "subject", "grade_level", "school__grade_low")
        )
        for section, identities in with_ids(
            sections.iterator(chunk_size=BATCH), self._linked("classes", self.section_rows())
        ):
            self.section_ids.add(identities)
            for row in sourced(identities, Section, section["pk"]):
                yield self._class_row(section, row)

    def _class_row(self, section: Values, row: Sourced) -> Row:
        # What the source sent (classCode, classType, location, periods...) goes back as it sent it.
        sent = row.extra if row.linked else {"classCode": section["code"], "classType": "scheduled"}
        grades = written_grades(
            sent.get("grades", ""), row.linked, section["grade_level"], section["school__grade_low"]
        )
        return {
            **sent,
            **self._record(row.id),
            "title": section["name"],
            "grades": grades,
            "courseSourcedId": self._course(section, sent, row.linked),
            "schoolSourcedId": self.school_ids[section["school_id"]],
            "termSourcedIds": self.session_ids[section["term_id"]],
            "subjects": section["subject"],
        }

    def _course(self, section: Values, sent: dict[str, str], linked: bool) -> str:
        """A class's course: the one the source sent, else one per school and subject. A section without a
        subject names none (the importer would make the course's title its subject)."""
        subject = section["subject"]
        if not subject:
            return ""
        course = (
            sent.get("courseSourcedId", "") if linked else derived_id("courses", f"{section['school_id']}:{subject}")
        )
        if course and course not in self.courses:
            # Courses have no row here: the title is the subject; no grades, which the importer would give
            # to a class without any.
            self.courses[course] = {
                **self._record(course),
                "schoolYearSourcedId": self.year_ids[section["term_id"]],
                "title": subject,
                "orgSourcedId": self.school_ids[section["school_id"]],
                "subjects": subject,
            }
        return course

    def course_rows(self) -> Iterator[Row]:
        return iter(self.courses.values())

    # --- users and roles ------------------------------------------------------------------------------

    def users(self) -> Iterator[Row]:
        # Guardians are named before they are written: every user's id is known first.
        self.user_ids.add(self._linked("users", self.user_rows()))
        memberships = self.membership_rows().filter(user=OuterRef("pk")).order_by("pk")
        guardians = GuardianLink.objects.filter(student=OuterRef("pk")).order_by("guardian_id")
        users = (
            self.user_rows()
            .annotate(
                member_rows=ArraySubquery(
                    memberships.values(json=JSONObject(role="role", school="school_id", active="active", pk="pk"))
                ),
                guardian_ids=ArraySubquery(guardians.values("guardian_id")),
                enrolled_as=_enrolled_as("pk"),
                relationships=_relationships("pk"),
            )
            .order_by("pk")
            .values(
                "pk",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_active",
                "learner_profile__grade_level",
                "learner_profile__school__grade_low",
                "member_rows",
                "guardian_ids",
                "enrolled_as",
                "relationships",
            )
        )
        for user, identities in with_ids(users.iterator(chunk_size=BATCH), self._linked("users", self.user_rows())):
            members = members_of(user["member_rows"])
            for row in sourced(identities, User, user["pk"]):
                yield self._user_row(user, members, row)

    def _user_row(self, user: Values, members: list[Member], row: Sourced) -> Row:
        if self.version == "1.1":
            deleted, membership = self._membership_columns_1_1(user, members)
        else:
            deleted, membership = _user_deleted_1_2(user), self._membership_columns_1_2(user, members)
        grade = user["learner_profile__grade_level"]
        grades = written_grades(
            row.extra.get("grades", ""), row.linked, grade, user["learner_profile__school__grade_low"]
        )
        return {
            **row.extra,  # identifier, userIds, userMasterIdentifier as the source sent them
            **self._record(row.id, active=not deleted),
            **membership,
            "enabledUser": "true" if user["is_active"] else "false",
            "username": user["username"],
            "givenName": user["first_name"],
            "familyName": user["last_name"],
            "email": user["email"],
            "agentSourcedIds": ",".join(self.user_ids[guardian] for guardian in user["guardian_ids"]),
            "grades": grades,
        }

    def _membership_columns_1_1(self, user: Values, members: list[Member]) -> tuple[bool, Row]:
        """1.1 gives a user one role, held at the orgs it lists: the role of their first membership, at every
        org where they hold it (principal and district admin are both administrators). Whether the row is
        tobedeleted decides whether the listed memberships import active."""
        if not members:
            role = fallback_role(user)
            return False, {"role": role, "orgSourcedIds": self.district_id if role else ""}
        role = self._role_name(members[0].role, user["relationships"])
        held = [member for member in members if self._role_name(member.role, user["relationships"]) == role]
        deleted = _user_deleted_1_1(user, held)
        listed = held if deleted else [member for member in held if member.active]
        return deleted, {"role": role, "orgSourcedIds": ",".join(dict.fromkeys(self._orgs(listed)))}

    def _membership_columns_1_2(self, user: Values, members: list[Member]) -> Row:
        if members:
            return {"primaryOrgSourcedId": next(iter(self._orgs(members[:1])), "")}
        return {"primaryOrgSourcedId": self.district_id if fallback_role(user) else ""}

    def _orgs(self, members: list[Member]) -> list[str]:
        """The org sourcedIds of memberships (a district admin's is the district, when orgs.csv has it)."""
        orgs = [self.school_ids[member.school] if member.school else self.district_id for member in members]
        return [org for org in orgs if org]

    def _role_name(self, role: str, relationships: list[str]) -> str:
        return guardian_kind(relationships) if role == Role.GUARDIAN else ROLE_NAMES[self.version][role]

    def roles(self) -> Iterator[Row]:
        memberships = (
            self.membership_rows()
            .annotate(relationships=_relationships("user_id"))
            .order_by("user_id", "pk")
            .values("pk", "user_id", "role", "school_id", "active", "relationships")
        )
        # The memberships come user by user (to tell each user's primary role), so their identities too.
        identities = (
            SourceIdentity.objects.filter(
                system=self.source, entity_type="roles", object_id__in=self.membership_rows().values("pk")
            )
            .annotate(member=Subquery(RoleMembership.objects.filter(pk=OuterRef("object_id")).values("user_id")))
            .order_by("member", "object_id", "external_id")
            .values("member", "object_id", "external_id", "extra")
        )
        merged = with_ids(
            memberships.iterator(chunk_size=BATCH),
            identities.iterator(chunk_size=BATCH),
            key=itemgetter("user_id", "pk"),
            identity_key=itemgetter("member", "object_id"),
        )
        for _, group in itertools.groupby(merged, key=lambda pair: pair[0]["user_id"]):
            rows = list(group)
            ordered = members_of(
                {"role": row["role"], "school": row["school_id"], "active": row["active"], "pk": row["pk"]}
                for row, _ in rows
            )
            by_pk = {row["pk"]: (row, ids) for row, ids in rows}
            for position, member in enumerate(ordered):
                yield from self._role_rows(*by_pk[member.pk], member, primary=position == 0)
        yield from self._fallback_roles()

    def _role_rows(
        self, membership: Values, identities: list[Values], member: Member, *, primary: bool
    ) -> Iterator[Row]:
        org = next(iter(self._orgs([member])), "")
        if not org:
            return  # a district admin where orgs.csv has no district
        for row in sourced(identities, RoleMembership, member.pk):
            yield {
                **self._record(row.id, active=member.active),
                "userSourcedId": self.user_ids[membership["user_id"]],
                "roleType": "primary" if primary else "secondary",
                "role": self._role_name(member.role, membership["relationships"]),
                "orgSourcedId": org,
            }

    def _fallback_roles(self) -> Iterator[Row]:
        """A role at the district org for each user without a membership in it (see fallback_role)."""
        if not self.district_id:
            return
        unattached = self.user_rows().exclude(pk__in=self.membership_rows().values("user_id"))
        users = (
            unattached.annotate(enrolled_as=_enrolled_as("pk"), relationships=_relationships("pk"))
            .order_by("pk")
            .values("pk", "learner_profile__grade_level", "enrolled_as", "relationships")
        )
        for user in users.iterator(chunk_size=BATCH):
            role = fallback_role(user)
            if role:
                yield {
                    **self._record(derived_id("roles", f"district:{user['pk']}")),
                    "userSourcedId": self.user_ids[user["pk"]],
                    "roleType": "primary",
                    "role": role,
                    "orgSourcedId": self.district_id,
                }

    # --- enrollments and demographics ----------------------------------------------------------------

    def enrollments(self) -> Iterator[Row]:
        enrollments = (
            self.enrollment_rows()
            .order_by("pk")
            .values("pk", "section_id", "section__school_id", "user_id", "role", "active", "start_date", "end_date")
        )
        identities = self._linked("enrollments", self.enrollment_rows())
        for enrollment, ids in with_ids(enrollments.iterator(chunk_size=BATCH), identities):
            for row in sourced(ids, Enrollment, enrollment["pk"]):
                yield {
                    **row.extra,
                    **self._record(row.id, active=enrollment["active"]),
                    "classSourcedId": self.section_ids[enrollment["section_id"]],
                    "schoolSourcedId": self.school_ids[enrollment["section__school_id"]],
                    "userSourcedId": self.user_ids[enrollment["user_id"]],
                    "role": enrollment["role"],
                    "beginDate": _iso(enrollment["start_date"]),
                    "endDate": _iso(enrollment["end_date"]),
                }

    def demographics(self) -> Iterator[Row]:
        flags = list(DEMOGRAPHIC_FLAGS.values())
        rows = self.demographics_rows().order_by("pk").values("pk", "sex", *flags)
        identities = self._linked("demographics", self.demographics_rows())
        for row, ids in with_ids(rows.iterator(chunk_size=BATCH), identities):
            yield {
                **(ids[0]["extra"] if ids else {}),
                # A student's demographics row is named by the student's sourcedId.
                **self._record(self.user_ids[row["pk"]]),
                "sex": row["sex"],
                **{column: "true" if row[name] else "false" for column, name in DEMOGRAPHIC_FLAGS.items()},
            }


def write_csv(
    archive: zipfile.ZipFile, name: str, header: list[str], rows: Iterable[Row], *, modified: datetime.datetime
) -> int:
    """One CSV file of the zip, written as its rows come. A key the header does not name is never written."""
    member = zipfile.ZipInfo(f"{name}.csv", date_time=timezone.localtime(modified).timetuple()[:6])
    member.compress_type = zipfile.ZIP_DEFLATED
    count = 0
    with archive.open(member, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.DictWriter(text, fieldnames=header, restval="", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of the district for every query of the export (an import may commit meanwhile);
    inside a caller's transaction, that transaction's view."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def export_oneroster(
    out: IO[bytes],
    *,
    district: District,
    version: str = "1.2",
    source: str = DEFAULT_SOURCE,
    now: datetime.datetime | None = None,
) -> ExportResult:
    """Write the district's roster to `out` as a OneRoster bulk CSV zip (see the module's docstring)."""
    if version not in VERSIONS:
        raise ValueError(f"OneRoster version {version!r} is not one of {', '.join(VERSIONS)}")
    started = time.perf_counter()
    export = DistrictExport(district, version=version, source=source, now=now or timezone.now())
    with _snapshot(), zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        rows = export.write(archive)
    result = ExportResult(version=version, source=source, rows=rows, seconds=time.perf_counter() - started)
    # Counts only: the rows hold personal data, and a log line must not.
    logger.info(
        "oneroster export district=%s version=%s source=%s rows=%s seconds=%.1f",
        district.pk,
        version,
        source,
        sum(rows.values()),
        result.seconds,
    )
    return result
