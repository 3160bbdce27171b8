"""Learning tools that send evidence (xAPI statements, Caliper events): their credentials, and turning what
they send into evidence.

The format modules (`xapi`, `caliper`) parse a request into `Observation`s (a person did something on an
activity, with a score or as a completion), `Void`s and acknowledgements; `observations_ingest` maps the
person and the activity to a student and a competency and records the evidence through
`evidence_record_bulk` (idempotent on (source, external_id): the statement or event id). What names a
person or an activity we cannot map is kept whole as an `UnmatchedStatement` for an admin to map and
replay (`mastery.interop.unmatched`), never dropped.

Personal data: the actor of a statement is never logged; logs carry counts and the tool's name only.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from mastery.models import Competency, Evidence, ToolCredential, UnmatchedStatement
from mastery.services import evidence_record_bulk
from profiles.models import District, LearnerProfile, School, SourceIdentity, User

logger = logging.getLogger(__name__)

PERSON = "person"  # SourceIdentity.entity_type of a tool's people
ACTIVITY = "activity"  # ... and of its activities (mapped to competencies)

UNKNOWN_PERSON = "unknown person"
PERSON_OUT_OF_SCOPE = "person is not a student of this tool's school or district"
UNKNOWN_ACTIVITY = "unknown activity"
GROUPING_ACTIVITY = "activity maps to a competency that only groups others"
VOID_TARGET_UNKNOWN = "voids a statement not stored here"

# What a statement stored before must equal for a re-send to count as the same statement: the LRS's own
# properties (stored, authority) are not the tool's to compare.
_NOT_COMPARED = frozenset({"stored", "authority"})


# --- credentials -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToolCredential:
    credential: ToolCredential
    secret: str  # shown once; only its hash is stored


def tool_credential_create(
    *,
    name: str,
    source: str,
    school: School | None = None,
    district: District | None = None,
    created_by: User | None = None,
) -> NewToolCredential:
    """A new active credential with a random key and secret, for one school or one district."""
    secret = secrets.token_urlsafe(32)
    credential = ToolCredential(
        name=name,
        source=source,
        key=secrets.token_hex(16),
        secret_hash=make_password(secret),
        school=school,
        district=district,
        created_by=created_by,
    )
    credential.full_clean()
    credential.save()
    return NewToolCredential(credential, secret)


# A verified secret is remembered in this process as its SHA-256, beside the stored hash it matched: the
# password hasher costs most of a second by design (bench: 0.7 s on a busy 2-core machine), too much for
# every statement a tool sends, and a SHA-256 does not give back a 256-bit random secret. The row is read on
# every request, so a new secret (another hash) or a deactivated credential takes effect at once.
_VERIFIED: dict[tuple[int, str], bytes] = {}
_VERIFIED_MAX = 1024


def _secret_matches(credential: ToolCredential, secret: str) -> bool:
    digest = hashlib.sha256(secret.encode()).digest()
    remembered = _VERIFIED.get((credential.pk, credential.secret_hash))
    if remembered is not None:
        return hmac.compare_digest(remembered, digest)
    if not check_password(secret, credential.secret_hash):
        return False
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[credential.pk, credential.secret_hash] = digest
    return True


def tool_credential_authenticate(*, key: str, secret: str) -> ToolCredential | None:
    """The active credential with this key and secret; None otherwise (unknown, inactive or wrong secret)."""
    credential = ToolCredential.objects.filter(key=key, active=True).first()
    if credential is None:
        make_password(secret)  # the same hashing work as a known key, so timing does not tell keys apart
        return None
    return credential if _secret_matches(credential, secret) else None


def tool_students(tool: ToolCredential) -> QuerySet[LearnerProfile]:
    """The students a tool may record evidence for: those of its school, or of its district's schools."""
    if tool.school_id is not None:
        return LearnerProfile.objects.filter(school_id=tool.school_id)
    if tool.district_id is not None:
        return LearnerProfile.objects.filter(school__district_id=tool.district_id)
    return LearnerProfile.objects.none()  # the check constraint makes this unreachable


# --- what the format modules hand over ---------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """A statement or event that may be evidence: a person acted on an activity, with a score or not."""

    format: str  # UnmatchedStatement.Format
    statement_id: str  # the external id of the evidence
    person_keys: tuple[str, ...]  # the person's identifiers as the tool wrote them (mbox, account name, IRI)
    email: str | None  # an mbox's address, matched to a user's email when no identity is mapped
    activity: str  # the activity's id (an IRI)
    observed_at: datetime.datetime
    kind: str | None  # "score", "completion", or None: nothing to record (acknowledged only)
    score: float | None
    statement: dict[str, Any]  # the whole statement or event, kept as provenance


@dataclass(frozen=True)
class Void:
    """An xAPI voiding statement: the statement `target_id` is withdrawn."""

    statement_id: str
    target_id: str
    statement: dict[str, Any]


@dataclass
class IngestReport:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # stored before: nothing new
    unmatched: list[str] = field(default_factory=list)
    not_evidence: list[str] = field(default_factory=list)  # mapped, but nothing to record (no result)
    voided: list[str] = field(default_factory=list)  # the ids of the statements voided
    # The unmatched rows as this call saw them (a replay updates the reason of those still waiting).
    unmatched_rows: list[UnmatchedStatement] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
            "not_evidence": self.not_evidence,
            "voided": self.voided,
        }


# --- mapping people and activities -------------------------------------------------------------------


class _Resolver:
    """Maps a tool's people to students and its activities to competencies, each looked up once."""

    def __init__(self, tool: ToolCredential) -> None:
        self.tool = tool
        self.students = tool_students(tool)
        self._people: dict[tuple[tuple[str, ...], str | None], tuple[int | None, str]] = {}
        self._activities: dict[str, tuple[int | None, str]] = {}

    def _identity(self, entity_type: str, external_id: str) -> int | None:
        # Any content type: a person's identity may point at the User or at its LearnerProfile, whose
        # primary key is the user's id; an activity's points at the Competency.
        return (
            SourceIdentity.objects.filter(system=self.tool.source, entity_type=entity_type, external_id=external_id)
            .values_list("object_id", flat=True)
            .first()
        )

    def student(self, observation: Observation) -> tuple[int | None, str]:
        """(student id, "") or (None, why not)."""
        key = (observation.person_keys, observation.email)
        if key not in self._people:
            self._people[key] = self._find_student(observation)
        return self._people[key]

    def _find_student(self, observation: Observation) -> tuple[int | None, str]:
        user_id = next(
            (found for person in observation.person_keys if (found := self._identity(PERSON, person)) is not None),
            None,
        )
        if user_id is None and observation.email:
            # Only an address that names exactly one user: a shared family address must not pick one.
            same_address = list(User.objects.filter(email__iexact=observation.email).values_list("pk", flat=True)[:2])
            user_id = same_address[0] if len(same_address) == 1 else None
        if user_id is None:
            return None, UNKNOWN_PERSON
        if not self.students.filter(pk=user_id).exists():
            return None, PERSON_OUT_OF_SCOPE
        return user_id, ""

    def competency(self, activity: str) -> tuple[int | None, str]:
        """(competency id, "") or (None, why not)."""
        if activity not in self._activities:
            self._activities[activity] = self._find_competency(activity)
        return self._activities[activity]

    def _find_competency(self, activity: str) -> tuple[int | None, str]:
        competency_id = self._identity(ACTIVITY, activity)
        if competency_id is None:
            competency_id = Competency.objects.filter(source_identifier=activity).values_list("pk", flat=True).first()
        if competency_id is None:
            # A code is unique only within its framework: it maps only when one competency has it.
            same_code = list(Competency.objects.filter(code=activity).values_list("pk", flat=True)[:2])
            competency_id = same_code[0] if len(same_code) == 1 else None
        if competency_id is None:
            return None, UNKNOWN_ACTIVITY
        if not Competency.objects.filter(pk=competency_id, assessable=True).exists():
            return None, GROUPING_ACTIVITY
        return competency_id, ""


# --- ingesting ---------------------------------------------------------------------------------------


def comparable(statement: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in statement.items() if key not in _NOT_COMPARED}


def stored_statements(*, tool: ToolCredential, statement_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The statements or events stored under these ids (as evidence or as unmatched), by id. Two queries."""
    stored: dict[str, dict[str, Any]] = dict(
        tool.unmatched.filter(statement_id__in=statement_ids).values_list("statement_id", "statement")
    )
    evidence = Evidence.objects.filter(source=tool.source, external_id__in=statement_ids)
    for external_id, raw in evidence.values_list("external_id", "raw"):
        statement = raw.get("statement") if isinstance(raw, dict) else None
        if external_id is not None and isinstance(statement, dict):  # evidence from a tool (not a CSV row)
            stored[external_id] = statement
    return stored


def _unmatched_row(tool: ToolCredential, observation: Observation, person: str, activity: str) -> UnmatchedStatement:
    return UnmatchedStatement(
        tool=tool,
        format=observation.format,
        statement_id=observation.statement_id,
        statement=observation.statement,
        reason="; ".join(reason for reason in (person, activity) if reason),
        person=(observation.person_keys[0] if observation.person_keys else "")[:255] if person else "",
        activity=observation.activity[:2000] if activity else "",
    )


@transaction.atomic
def observations_ingest(
    *, tool: ToolCredential, observations: Sequence[Observation], voids: Sequence[Void] = ()
) -> IngestReport:
    """Record what maps as evidence, keep what does not as unmatched, flag what is voided. All or nothing."""
    resolver = _Resolver(tool)
    report = IngestReport()
    items: list[dict[str, Any]] = []
    unmatched: list[UnmatchedStatement] = []
    for observation in observations:
        student_id, person_problem = resolver.student(observation)
        competency_id, activity_problem = resolver.competency(observation.activity)
        if person_problem or activity_problem:
            unmatched.append(_unmatched_row(tool, observation, person_problem, activity_problem))
        elif observation.kind is None:
            report.not_evidence.append(observation.statement_id)
        else:
            items.append(
                {
                    "student_id": student_id,
                    "competency_id": competency_id,
                    "observed_at": observation.observed_at,
                    "score": observation.score,
                    "kind": observation.kind,
                    "source": tool.source,
                    "external_id": observation.statement_id,
                    "raw": {"format": observation.format, "statement": observation.statement},
                }
            )
    for item, result in zip(items, evidence_record_bulk(items=items, students=resolver.students), strict=True):
        (report.stored if result.created else report.duplicates).append(item["external_id"])
    _void_late_arrivals(tool, report)
    _store_unmatched(unmatched)
    report.unmatched.extend(row.statement_id for row in unmatched)
    report.unmatched_rows.extend(unmatched)
    _apply_voids(tool, voids, report)
    logger.info(
        "tool %s: %d stored, %d duplicates, %d unmatched, %d not evidence, %d voided",
        tool.name,
        len(report.stored),
        len(report.duplicates),
        len(report.unmatched),
        len(report.not_evidence),
        len(report.voided),
    )
    return report


def _store_unmatched(rows: list[UnmatchedStatement]) -> None:
    # A re-sent unmatched statement is already waiting: the first copy stays (the same id, the same statement).
    UnmatchedStatement.objects.bulk_create(rows, ignore_conflicts=True)


def _apply_voids(tool: ToolCredential, voids: Sequence[Void], report: IngestReport) -> None:
    """Flag the voided evidence (mastery leaves it out from the next recompute) and close voided unmatched rows.
    A voiding statement whose target is stored nowhere is kept as unmatched: a replay after the target
    arrives voids it then."""
    if not voids:
        return
    now = timezone.now()
    targets = [void.target_id for void in voids]
    in_evidence = set(
        Evidence.objects.filter(source=tool.source, external_id__in=targets).values_list("external_id", flat=True)
    )
    Evidence.objects.filter(source=tool.source, external_id__in=targets, voided_at__isnull=True).update(voided_at=now)
    in_unmatched = set(tool.unmatched.filter(statement_id__in=targets).values_list("statement_id", flat=True))
    tool.unmatched.filter(statement_id__in=targets, resolved_at__isnull=True).update(resolved_at=now)
    unknown: list[UnmatchedStatement] = []
    for void in voids:
        if void.target_id in in_evidence or void.target_id in in_unmatched:
            report.voided.append(void.target_id)
        else:
            unknown.append(
                UnmatchedStatement(
                    tool=tool,
                    format=UnmatchedStatement.Format.XAPI,
                    statement_id=void.statement_id,
                    statement=void.statement,
                    reason=VOID_TARGET_UNKNOWN,
                )
            )
            report.unmatched.append(void.statement_id)
    _store_unmatched(unknown)
    report.unmatched_rows.extend(unknown)


def _void_late_arrivals(tool: ToolCredential, report: IngestReport) -> None:
    """A voiding statement that came before its target waits as unmatched: void the target as it arrives.
    Such rows are few (an LRS normally sends in order), so they are read and parsed here, not queried."""
    if not report.stored:
        return
    waiting = list(tool.unmatched.filter(resolved_at__isnull=True, reason=VOID_TARGET_UNKNOWN))
    if not waiting:
        return
    stored = set(report.stored)
    targets = {row.pk: row.statement.get("object", {}).get("id", "") for row in waiting}
    # The stored ids are normalized UUIDs (lower case); a voiding statement may spell its target otherwise.
    arrived = {pk: target.lower() for pk, target in targets.items() if str(target).lower() in stored}
    if not arrived:
        return
    now = timezone.now()
    Evidence.objects.filter(source=tool.source, external_id__in=set(arrived.values()), voided_at__isnull=True).update(
        voided_at=now
    )
    tool.unmatched.filter(pk__in=arrived).update(resolved_at=now)
    report.voided.extend(sorted(set(arrived.values())))


def person_identity_create(*, tool: ToolCredential, person: str, student: User) -> SourceIdentity:
    """Map a tool's person identifier to a student (what an admin does for an unmatched statement)."""
    identity, _ = SourceIdentity.objects.update_or_create(
        system=tool.source,
        entity_type=PERSON,
        external_id=person,
        defaults={"content_type": ContentType.objects.get_for_model(User), "object_id": student.pk},
    )
    return identity


def activity_identity_create(*, tool: ToolCredential, activity: str, competency: Competency) -> SourceIdentity:
    """Map a tool's activity id to a competency."""
    identity, _ = SourceIdentity.objects.update_or_create(
        system=tool.source,
        entity_type=ACTIVITY,
        external_id=activity,
        defaults={"content_type": ContentType.objects.get_for_model(Competency), "object_id": competency.pk},
    )
    return identity
