"""Stage 3, apply: a validated set into the district's rows, in dependency order, set-based.

orgs → schools (the district org is linked to the target district, never renamed), academic
sessions → terms (one per session and school: a Term belongs to a school, a session to none),
classes → sections, users → users + role memberships + learner profiles, enrollments, guardian
links (from agentSourcedIds), demographics (only when the district opted in). Courses have no local
row: their subjects and grades fill in what a class leaves blank.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.utils.text import slugify

from ..modelbase import GRADE_MAX, GRADE_MIN
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
from .issues import Issues
from .parse import BULK, ParsedFile, RosterSet, Row
from .sync import Desired, EntityResult, Sync, identity_map, merge
from .validate import is_deleted, split_ids

SESSION_KINDS = {
    "schoolYear": Term.Kind.SCHOOL_YEAR,
    "semester": Term.Kind.SEMESTER,
    "term": Term.Kind.TERM,
    "gradingPeriod": Term.Kind.GRADING_PERIOD,
}
# OneRoster role → platform role; the org decides between principal and district admin.
SCHOOL_ROLES = {
    "student": Role.STUDENT,
    "teacher": Role.TEACHER,
    "principal": Role.PRINCIPAL,
    "siteAdministrator": Role.PRINCIPAL,
    "administrator": Role.PRINCIPAL,
    "guardian": Role.GUARDIAN,
    "parent": Role.GUARDIAN,
    "relative": Role.GUARDIAN,
}
DISTRICT_ROLES = {"districtAdministrator": Role.DISTRICT_ADMIN, "administrator": Role.DISTRICT_ADMIN}
GUARDIAN_ROLES = {"guardian", "parent", "relative"}
NAMED_GRADES = {"KG": 0, "K": 0}
# Columns of a user row kept on its SourceIdentity (ids the district may search by); contact details
# (phone, sms) and birth dates are not kept anywhere: the platform has no use for them.
USER_EXTRA = ["identifier", "userIds", "userMasterIdentifier", "grades"]
CLASS_EXTRA = ["classCode", "classType", "location", "grades", "subjectCodes", "periods", "courseSourcedId"]


@dataclass(frozen=True)
class MembershipSource:
    external_id: str  # roles.csv sourcedId, or "user:role@org" for a 1.1 users.csv row
    user: str
    role: str  # as OneRoster names it
    org: str
    active: bool
    row: Row
    filename: str


@dataclass
class ApplyResult:
    counts: dict[str, Counter] = field(default_factory=dict)
    deactivation_shares: dict[str, tuple[int, int]] = field(default_factory=dict)  # entity → (deactivated, active)
    writes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per kind of record


def grade_of(grades: str) -> int | None:
    """The lowest K-12 grade of a OneRoster grades list ("09,10" → 9); None when there is none."""
    found = []
    for token in split_ids(grades):
        if token.upper() in NAMED_GRADES:
            found.append(NAMED_GRADES[token.upper()])
        elif token.isdigit() and GRADE_MIN <= int(token) <= GRADE_MAX:
            found.append(int(token))
    return min(found) if found else None


def _extra(row: Row, columns: list[str] = ()) -> dict[str, str]:  # type: ignore[assignment]
    kept = {column: row.values[column] for column in columns if row.values.get(column)}
    return {**kept, **{column: value for column, value in row.extra.items() if value}}


class Importer:
    def __init__(self, roster: RosterSet, *, district: District, system: str, issues: Issues) -> None:
        self.roster = roster
        self.files = roster.files
        self.district = district
        self.system = system
        self.issues = issues
        self.result = ApplyResult()
        self.school_ids: dict[str, int] = {}  # org sourcedId → School pk
        self.user_ids: dict[str, int] = {}
        self.user_roles: dict[str, set[str]] = defaultdict(set)  # user sourcedId → OneRoster roles

    # --- shared ------------------------------------------------------------------------------------

    def _rows(self, name: str) -> list[Row]:
        file = self.files.get(name)
        return file.rows if file else []

    def _filename(self, name: str) -> str:
        """The file a row came from, as the issues name it (users.csv, or users.json for REST collections)."""
        file = self.files.get(name)
        return file.filename if file else f"{name}.csv"

    def _bulk(self, name: str) -> bool:
        file: ParsedFile | None = self.files.get(name)
        return bool(file and file.mode == BULK)

    def _record(self, entity: str, outcome: EntityResult) -> None:
        self.result.counts[entity] = outcome.counts
        counts = outcome.counts
        self.result.writes += counts["create"] + counts["update"] + counts["deactivate"] + outcome.identity_writes
        if outcome.active_before:
            self.result.deactivation_shares[entity] = (counts["deactivate"], outcome.active_before)

    def _sync(self, entity: str, desired: list[Desired], *, bulk: bool, **options: Any) -> EntityResult:
        outcome = Sync(system=self.system, **options).run(desired, bulk=bulk)
        self._record(entity, outcome)
        return outcome

    def _ids(self, entity_type: str) -> dict[str, int]:
        return {external_id: pk for external_id, (pk, _) in identity_map(self.system, entity_type).items()}

    def run(self) -> ApplyResult:
        stages = [
            self.orgs,
            self.sessions,
            self.classes,
            self.users,
            self.memberships,
            self.learner_profiles,
            self.enrollments,
            self.guardian_links,
            self.demographics,
        ]
        for stage in stages:
            started = time.perf_counter()
            stage()
            self.result.seconds[stage.__name__] = time.perf_counter() - started
        return self.result

    # --- orgs ----------------------------------------------------------------------------------------

    def orgs(self) -> None:
        rows = self._rows("orgs")
        district_rows = [row for row in rows if row.values["type"] == "district"]
        school_rows = [row for row in rows if row.values["type"] == "school"]
        for row in rows:
            if row.values["type"] not in ("district", "school"):
                message = f"a {row.values['type']} has no place here; skipped"
                self.issues.warn(self._filename("orgs"), row.line, "type", message)
        self._link_districts(district_rows)
        codes = self._school_codes(school_rows)
        desired = [self._school(row, codes) for row in school_rows]
        outcome = self._sync(
            "schools",
            desired,
            bulk=False,
            entity_type="org.school",
            model=School,
            key_fields=["district", "code"],
            compare_fields=["name"],
        )
        self._warn_absent("orgs", "org.school", "schools", outcome)
        self.school_ids = self._ids("org.school")

    def _link_districts(self, rows: list[Row]) -> None:
        """A district org names the district being imported into: linked, never created or renamed."""
        linked = identity_map(self.system, "org.district")
        new = [
            SourceIdentity(
                system=self.system,
                entity_type="org.district",
                external_id=row.values["sourcedId"],
                content_type=ContentType.objects.get_for_model(District),
                object_id=self.district.pk,
                extra=_extra(row),
            )
            for row in rows
            if row.values["sourcedId"] not in linked
        ]
        SourceIdentity.objects.bulk_create(new)
        self.result.counts["districts"] = Counter(create=len(new), unchanged=len(rows) - len(new))
        self.result.writes += len(new)

    def _school_codes(self, rows: list[Row]) -> dict[str, str]:
        """A slug per school org: its identifier (or sourcedId); a clash within the set gets the sourcedId."""
        slugs = {
            row.values["sourcedId"]: slugify(row.values.get("identifier") or row.values["sourcedId"])[:50]
            for row in rows
        }
        clashes = Counter(slugs.values())
        return {
            sid: slug if clashes[slug] == 1 and slug else slugify(sid)[:40] + "-" + _digest(sid)
            for sid, slug in slugs.items()
        }

    def _school(self, row: Row, codes: dict[str, str]) -> Desired:
        sid = row.values["sourcedId"]
        fields = {"district": self.district, "code": codes[sid], "name": row.values["name"][:200]}
        return Desired((self.district.pk, codes[sid]), fields, {sid: _extra(row)})

    def _warn_absent(self, name: str, entity_type: str, entity: str, outcome: EntityResult) -> None:
        """Rows without an active flag are kept when a bulk file no longer lists them: say how many."""
        if not self._bulk(name):
            return
        absent = set(self._ids(entity_type)) - set(outcome.ids)
        if absent:
            message = f"{len(absent)} {entity} no longer listed; kept ({entity} have no active flag)"
            self.issues.warn(self._filename(name), 0, "", message)

    # --- academic sessions → terms -----------------------------------------------------------------

    def sessions(self) -> None:
        # Sessions marked tobedeleted still become terms: a Term has no active flag, and live classes
        # may still point at them.
        rows = self._rows("academicSessions")
        titles = Counter(row.values["title"] for row in rows)
        desired = []
        for school_sid, school_id in sorted(self.school_ids.items()):
            for row in rows:
                title = row.values["title"]
                name = title if titles[title] == 1 else f"{title} ({row.values['sourcedId']})"
                fields = {
                    "school_id": school_id,
                    "name": name[:100],
                    "kind": SESSION_KINDS[row.values["type"]],
                    "start_date": _date(row.values["startDate"]),
                    "end_date": _date(row.values["endDate"]),
                }
                desired.append(
                    Desired((school_id, name[:100]), fields, {_at(row.values["sourcedId"], school_sid): _extra(row)})
                )
        self._sync(
            "terms",
            desired,
            bulk=False,
            entity_type="academicSession",
            model=Term,
            key_fields=["school_id", "name"],
            compare_fields=["name", "kind", "start_date", "end_date"],
        )
        self._link_term_parents(rows)

    def _link_term_parents(self, rows: list[Row]) -> None:
        terms = self._ids("academicSession")
        wanted = {}
        for row in rows:
            parent = row.values.get("parentSourcedId", "")
            for school_sid in self.school_ids:
                child_id = terms.get(_at(row.values["sourcedId"], school_sid))
                if child_id:
                    wanted[child_id] = terms.get(_at(parent, school_sid)) if parent else None
        current = dict(Term.objects.filter(pk__in=wanted).values_list("pk", "parent_id"))
        changed = [Term(pk=pk, parent_id=parent) for pk, parent in wanted.items() if current.get(pk) != parent]
        Term.objects.bulk_update(changed, ["parent"])
        self.result.writes += len(changed)

    # --- classes → sections -----------------------------------------------------------------------

    def classes(self) -> None:
        terms = self._ids("academicSession")
        sessions = {row.values["sourcedId"]: row for row in self._rows("academicSessions")}
        courses = {row.values["sourcedId"]: row for row in self._rows("courses")}
        school_grades = dict(School.objects.filter(district=self.district).values_list("pk", "grade_low"))
        desired = []
        for row in self._rows("classes"):
            if is_deleted(row):
                continue  # a section has no active flag: its enrollments' rows carry the deletion
            school_sid = row.values["schoolSourcedId"]
            school_id = self.school_ids[school_sid]
            session = self._section_session(row, sessions)
            course = courses.get(row.values.get("courseSourcedId", ""))
            grade = grade_of(row.values.get("grades", ""))
            if grade is None and course:
                grade = grade_of(course.values.get("grades", ""))
            if grade is None:
                grade = school_grades[school_id]
                self.issues.warn(
                    self._filename("classes"),
                    row.line,
                    "grades",
                    f"no K-12 grade; the section is placed in grade {grade}",
                )
            subject = row.values.get("subjects") or (
                course.values.get("subjects") or course.values["title"] if course else ""
            )
            sid = row.values["sourcedId"]
            code = sid if len(sid) <= 50 else sid[:41] + "-" + _digest(sid)
            term_id = terms.get(_at(session, school_sid))
            if term_id is None:
                # A delta naming a school new to this source with a session of an earlier import: the
                # session's dates are not in this set, so its term there cannot be made (the import stops).
                message = f"session “{session}” has no term at school “{school_sid}”; include academicSessions"
                self.issues.error(self._filename("classes"), row.line, "termSourcedIds", message)
                continue
            fields = {
                "school_id": school_id,
                "term_id": term_id,
                "code": code,
                "name": row.values["title"][:200],
                "subject": subject[:100],
                "grade_level": grade,
            }
            desired.append(Desired((school_id, term_id, code), fields, {sid: _extra(row, CLASS_EXTRA)}))
        outcome = self._sync(
            "sections",
            desired,
            bulk=False,
            entity_type="classes",
            model=Section,
            key_fields=["school_id", "term_id", "code"],
            compare_fields=["school_id", "term_id", "name", "subject", "grade_level"],
        )
        self._warn_absent("classes", "classes", "sections", outcome)

    def _section_session(self, row: Row, sessions: dict[str, Row]) -> str:
        """A section has one term; a class may list several. Several → the session of the set that spans
        them all (their school year), else the first listed, with a warning."""
        listed = split_ids(row.values["termSourcedIds"])
        if len(listed) == 1 or not all(sid in sessions for sid in listed):
            return listed[0]
        start = min(sessions[sid].values["startDate"] for sid in listed)
        end = max(sessions[sid].values["endDate"] for sid in listed)
        spanning = [
            sid
            for sid, session in sessions.items()
            if session.values["startDate"] <= start and session.values["endDate"] >= end and sid not in listed
        ]
        if spanning:
            return spanning[0]
        self.issues.warn(
            self._filename("classes"),
            row.line,
            "termSourcedIds",
            f"several terms; the section is placed in {listed[0]}",
        )
        return listed[0]

    # --- users, memberships, learner profiles ------------------------------------------------------------------

    def users(self) -> None:
        rows = self._rows("users")
        linked = self._ids("users")
        names = self._usernames([row for row in rows if row.values["sourcedId"] not in linked])
        unusable_password = make_password(None)  # imported people sign in through single sign-on
        desired = []
        for row in rows:
            sid = row.values["sourcedId"]
            active = not is_deleted(row) and row.values.get("enabledUser", "true").lower() != "false"
            fields = {
                "username": names.get(sid, sid),
                "first_name": row.values.get("givenName", "")[:150],
                "last_name": row.values.get("familyName", "")[:150],
                "email": row.values.get("email", "")[:254],
                "is_active": active,
                "password": unusable_password,
            }
            desired.append(Desired((fields["username"],), fields, {sid: _extra(row, USER_EXTRA)}))
        self._sync(
            "users",
            desired,
            bulk=self._bulk("users"),
            entity_type="users",
            model=User,
            key_fields=["username"],
            compare_fields=["first_name", "last_name", "email", "is_active"],
            active_field="is_active",
            adopt=False,
        )
        self.user_ids = self._ids("users")

    def _usernames(self, rows: list[Row]) -> dict[str, str]:
        """A free username per new user: theirs, else theirs with the sourcedId (never an existing account)."""
        wanted = {
            row.values["sourcedId"]: (row.values.get("username") or row.values["sourcedId"])[:150] for row in rows
        }
        taken = set(User.objects.filter(username__in=wanted.values()).values_list("username", flat=True))
        counts = Counter(wanted.values())
        names = {}
        for sid, name in wanted.items():
            if name in taken or counts[name] > 1:
                name = f"{name[:100]}.{sid[:49]}"
            names[sid] = name
        return names

    def _membership_sources(self) -> list[MembershipSource]:
        """What makes role memberships: roles.csv rows (1.2), or each org of a users.csv row (1.1)."""
        if "roles" in self.files:
            return [
                MembershipSource(
                    external_id=row.values["sourcedId"],
                    user=row.values["userSourcedId"],
                    role=row.values["role"],
                    org=row.values["orgSourcedId"],
                    active=not is_deleted(row),
                    row=row,
                    filename=self._filename("roles"),
                )
                for row in self._rows("roles")
            ]
        if self.roster.version != "1.1":
            return []
        return [
            MembershipSource(
                external_id=f"{row.values['sourcedId']}:{row.values['role']}@{org}",
                user=row.values["sourcedId"],
                role=row.values["role"],
                org=org,
                active=not is_deleted(row),
                row=row,
                filename=self._filename("users"),
            )
            for row in self._rows("users")
            for org in split_ids(row.values.get("orgSourcedIds", ""))
        ]

    def memberships(self) -> None:
        district_orgs = set(self._ids("org.district"))
        desired = []
        for source in self._membership_sources():
            self.user_roles[source.user].add(source.role)
            if source.org in district_orgs:
                platform_role, school_id = DISTRICT_ROLES.get(source.role), None
            else:
                platform_role, school_id = SCHOOL_ROLES.get(source.role), self.school_ids.get(source.org)
            if platform_role is None or (school_id is None and platform_role != Role.DISTRICT_ADMIN):
                message = f"role “{source.role}” at org “{source.org}” has no platform role; skipped"
                self.issues.warn(source.filename, source.row.line, "role", message)
                continue
            fields = {
                "user_id": self.user_ids[source.user],
                "role": platform_role,
                "school_id": school_id,
                "district_id": self.district.pk if platform_role == Role.DISTRICT_ADMIN else None,
                "active": source.active,
            }
            key = (fields["user_id"], platform_role, school_id, fields["district_id"])
            desired.append(Desired(key, fields, {source.external_id: {}}))
        bulk = self._bulk("roles") if "roles" in self.files else self._bulk("users")
        self._sync(
            "role memberships",
            merge(desired, _any_active),
            bulk=bulk,
            entity_type="roles",
            model=RoleMembership,
            key_fields=["user_id", "role", "school_id", "district_id"],
            compare_fields=["active"],
            active_field="active",
        )

    def learner_profiles(self) -> None:
        """Every student of the users file gets a learner profile at their first school (grade from
        `grades`); only school and grade are written, never what teachers keep in the profile."""
        schools = self._student_schools()
        grade_lows = dict(School.objects.filter(district=self.district).values_list("pk", "grade_low"))
        desired = []
        for row in self._rows("users"):
            sid = row.values["sourcedId"]
            if sid not in schools or is_deleted(row):
                continue
            grade = grade_of(row.values.get("grades", ""))
            if grade is None:
                grade = grade_lows[schools[sid]]
                self.issues.warn(
                    self._filename("users"),
                    row.line,
                    "grades",
                    f"no K-12 grade; the learner profile says grade {grade}",
                )
            fields = {"user_id": self.user_ids[sid], "school_id": schools[sid], "grade_level": grade}
            desired.append(Desired((fields["user_id"],), fields, {sid: {}}))
        self._sync(
            "learner profiles",
            desired,
            bulk=False,
            entity_type="learnerProfile",
            model=LearnerProfile,
            key_fields=["user_id"],
            compare_fields=["school_id", "grade_level"],
        )

    def _student_schools(self) -> dict[str, int]:
        schools: dict[str, int] = {}
        for source in self._membership_sources():
            if source.role == "student" and source.active and source.org in self.school_ids:
                schools.setdefault(source.user, self.school_ids[source.org])
        return schools

    # --- enrollments, guardian links, demographics ------------------------------------------------------

    def enrollments(self) -> None:
        sections = self._ids("classes")
        desired = []
        for row in self._rows("enrollments"):
            v = row.values
            if v["role"] not in ("student", "teacher"):
                self.issues.warn(
                    self._filename("enrollments"),
                    row.line,
                    "role",
                    f"a {v['role']} enrollment has no place here; skipped",
                )
                continue
            section_id = sections.get(v["classSourcedId"])
            if section_id is None:
                continue  # a deleted class that was never imported
            fields = {
                "section_id": section_id,
                "user_id": self.user_ids[v["userSourcedId"]],
                "role": v["role"],
                "active": not is_deleted(row),
                "start_date": _date(v.get("beginDate", "")),
                "end_date": _date(v.get("endDate", "")),
            }
            desired.append(Desired((section_id, fields["user_id"], v["role"]), fields, {v["sourcedId"]: _extra(row)}))
        self._sync(
            "enrollments",
            merge(desired, _span),
            bulk=self._bulk("enrollments"),
            entity_type="enrollments",
            model=Enrollment,
            key_fields=["section_id", "user_id", "role"],
            compare_fields=["active", "start_date", "end_date"],
            active_field="active",
        )

    def guardian_links(self) -> None:
        """agentSourcedIds pair a student with a guardian (parent, relative) in either direction."""
        desired = []
        for row in self._rows("users"):
            sid = row.values["sourcedId"]
            for agent in split_ids(row.values.get("agentSourcedIds", "")):
                pair = self._guardian_pair(sid, agent)
                if pair is None:
                    self.issues.warn(
                        self._filename("users"),
                        row.line,
                        "agentSourcedIds",
                        f"“{agent}” is not a guardian of a student here; no link",
                    )
                    continue
                guardian, student, relationship = pair
                fields = {
                    "guardian_id": self.user_ids[guardian],
                    "student_id": self.user_ids[student],
                    "relationship": relationship,
                }
                desired.append(
                    Desired((fields["guardian_id"], fields["student_id"]), fields, {f"{student}>{guardian}": {}})
                )
        self._sync(
            "guardian links",
            merge(desired),
            bulk=False,
            entity_type="agents",
            model=GuardianLink,
            key_fields=["guardian_id", "student_id"],
            compare_fields=["relationship"],
        )

    def _guardian_pair(self, sid: str, agent: str) -> tuple[str, str, str] | None:
        if agent not in self.user_ids:
            return None
        for student, guardian in ((sid, agent), (agent, sid)):
            kinds = self.user_roles[guardian] & GUARDIAN_ROLES
            if "student" in self.user_roles[student] and kinds:
                return guardian, student, sorted(kinds)[0]
        return None

    def demographics(self) -> None:
        if "demographics" not in self.files:
            return
        if not self.district.import_demographics:
            self.issues.warn(
                self._filename("demographics"), 0, "", "not imported: the district has not opted in to demographics"
            )
            return
        desired = []
        for row in self._rows("demographics"):
            v = row.values
            fields: dict[str, Any] = {"student_id": self.user_ids[v["sourcedId"]], "sex": v.get("sex") or "unspecified"}
            fields.update({name: v.get(column, "").lower() == "true" for column, name in DEMOGRAPHIC_FLAGS.items()})
            desired.append(Desired((fields["student_id"],), fields, {v["sourcedId"]: _extra(row)}))
        self._sync(
            "demographics",
            desired,
            bulk=False,
            entity_type="demographics",
            model=Demographics,
            key_fields=["student_id"],
            compare_fields=["sex", *DEMOGRAPHIC_FLAGS.values()],
        )


DEMOGRAPHIC_FLAGS = {
    "americanIndianOrAlaskaNative": "american_indian_or_alaska_native",
    "asian": "asian",
    "blackOrAfricanAmerican": "black_or_african_american",
    "nativeHawaiianOrOtherPacificIslander": "native_hawaiian_or_other_pacific_islander",
    "white": "white",
    "demographicRaceTwoOrMoreRaces": "two_or_more_races",
    "hispanicOrLatinoEthnicity": "hispanic_or_latino",
}


def _at(session_sid: str, school_sid: str) -> str:
    """A term's external id: its session at one school (a session is one Term per school)."""
    return f"{session_sid}@{school_sid}"


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]


def _date(value: Any) -> Any:
    if isinstance(value, datetime.date) or value is None:
        return value
    return datetime.date.fromisoformat(value) if value else None


def _any_active(kept: dict, other: dict) -> None:
    kept["active"] = kept["active"] or other["active"]


def _span(kept: dict, other: dict) -> None:
    """Two OneRoster enrollments of one person in one section (a semester each): one enrollment spanning both."""
    _any_active(kept, other)
    starts = [d for d in (kept["start_date"], other["start_date"]) if d]
    ends = [d for d in (kept["end_date"], other["end_date"]) if d]
    kept["start_date"] = min(starts) if starts else None
    kept["end_date"] = max(ends) if ends else None
