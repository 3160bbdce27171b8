"""xAPI 1.0.3 statements → observations (mastery.interop.tools).

Only what evidence needs is read; the whole statement is kept as the evidence's raw payload. A statement
is refused (400, naming the field) only when it is not a statement: no actor with one identifier, no
verb id, no object id, an id that is not a UUID, a score outside its range, a timestamp that is not ISO
8601. Anything else a tool may send (context, extensions, attachments' metadata) is kept, not judged.

The score, in [0, 1]: `result.score.scaled` (negative values, allowed by xAPI, count as 0), else
(raw − min) / (max − min) with min 0 when absent, else `result.success` as 1 or 0; else a completion
(`result.completion` true) is an activity completion; else the statement records nothing (acknowledged).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from mastery.interop.fields import NOT_A_TIMESTAMP, NOT_AN_OBJECT, REQUIRED, FieldError, number, text
from mastery.interop.tools import Observation, Void
from mastery.models import UnmatchedStatement
from mastery.services.evidence import parse_observed_at

VERSION = "1.0.3"
VERSION_HEADER = "X-Experience-API-Version"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
STATEMENTS_PER_REQUEST = 1000

NOT_A_UUID = "Must be a UUID."
NOT_A_BOOLEAN = "Must be true or false."
ONE_IDENTIFIER = "An agent needs exactly one of mbox, mbox_sha1sum, openid, account."
MBOX_MAILTO = "Must be a mailto: IRI."
SCALED_RANGE = "Must be between -1 and 1."
RAW_RANGE = "Must be between min and max."
MAX_ABOVE_MIN = "Must be greater than min."
VOID_NEEDS_REF = "A voiding statement's object must be a StatementRef."
ID_MISMATCH = "Differs from the statementId parameter."
NOT_STATEMENTS = "A statement or an array of statements is required."
TOO_MANY = f"At most {STATEMENTS_PER_REQUEST} statements per request."
SAME_ID_DIFFERENT = "Same id as an earlier statement of this request, with different content."

_IDENTIFIERS = ("mbox", "mbox_sha1sum", "openid", "account")


StatementError = FieldError  # a request that is not valid xAPI: `field` names where (`[2].result.score.raw`)


@dataclass
class ParsedStatements:
    ids: list[str] = field(default_factory=list)  # every statement's id, in request order
    observations: list[Observation] = field(default_factory=list)
    voids: list[Void] = field(default_factory=list)
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → statement (ids made here set)


def parse_request(body: Any, *, statement_id: str | None = None) -> ParsedStatements:
    """A POST body (one statement or an array) or a PUT body (one statement, `statement_id` from the URL)."""
    if statement_id is not None:
        if not isinstance(body, Mapping):
            raise StatementError("", NOT_AN_OBJECT)
        put_id = _uuid(statement_id, "statementId")
        if body.get("id") is not None and _uuid(body["id"], "id") != put_id:
            raise StatementError("id", ID_MISMATCH)
        statements: list[Any] = [{**body, "id": put_id}]
        prefixes = [""]
    elif isinstance(body, Mapping):
        statements, prefixes = [body], [""]
    elif isinstance(body, list) and body:
        if len(body) > STATEMENTS_PER_REQUEST:
            raise StatementError("", TOO_MANY)
        statements, prefixes = body, [f"[{index}]." for index in range(len(body))]
    else:
        raise StatementError("", NOT_STATEMENTS)
    parsed = ParsedStatements()
    for statement, prefix in zip(statements, prefixes, strict=True):
        _add(parsed, parse_statement(statement, prefix=prefix), prefix)
    return parsed


def _add(parsed: ParsedStatements, item: Observation | Void, prefix: str) -> None:
    earlier = parsed.statements.get(item.statement_id)
    if earlier is not None:
        if earlier != item.statement:
            raise StatementError(f"{prefix}id", SAME_ID_DIFFERENT)
        return  # the same statement twice: recorded once
    parsed.ids.append(item.statement_id)
    parsed.statements[item.statement_id] = item.statement
    if isinstance(item, Void):
        parsed.voids.append(item)
    else:
        parsed.observations.append(item)


def parse_statement(statement: Any, *, prefix: str = "") -> Observation | Void:
    """One statement as an observation (or a void). Raises StatementError naming the field."""
    if not isinstance(statement, Mapping):
        raise StatementError(prefix.rstrip(".") or "", NOT_AN_OBJECT)
    statement = dict(statement)
    if statement.get("id") is None:
        statement["id"] = str(uuid.uuid4())  # the LRS assigns an id the tool did not
    statement_id = _uuid(statement["id"], f"{prefix}id")
    statement["id"] = statement_id
    person_keys, email = _actor(_object(statement, "actor", prefix), f"{prefix}actor")
    verb = _object(statement, "verb", prefix)
    verb_id = text(verb.get("id"), f"{prefix}verb.id")
    target = _object(statement, "object", prefix)
    object_type = target.get("objectType", "Activity")
    object_id = text(target.get("id"), f"{prefix}object.id") if object_type != "SubStatement" else ""
    if verb_id == VOIDED:
        if object_type != "StatementRef":
            raise StatementError(f"{prefix}object.objectType", VOID_NEEDS_REF)
        return Void(statement_id, _uuid(object_id, f"{prefix}object.id"), statement)
    kind, score = _value(statement.get("result"), f"{prefix}result")
    if object_type != "Activity":
        kind, score = None, None  # about an agent or another statement: no competency to record on
    return Observation(
        format=UnmatchedStatement.Format.XAPI,
        statement_id=statement_id,
        person_keys=person_keys,
        email=email,
        activity=object_id,
        observed_at=_timestamp(statement.get("timestamp"), f"{prefix}timestamp"),
        kind=kind,
        score=score,
        statement=statement,
    )


def _object(parent: Mapping[str, Any], name: str, prefix: str) -> Mapping[str, Any]:
    value = parent.get(name)
    if value is None:
        raise StatementError(f"{prefix}{name}", REQUIRED)
    if not isinstance(value, Mapping):
        raise StatementError(f"{prefix}{name}", NOT_AN_OBJECT)
    return value


def _uuid(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(text(value, where)))  # lower case, hyphenated: one spelling per id
    except ValueError:
        raise StatementError(where, NOT_A_UUID) from None


def _actor(actor: Mapping[str, Any], where: str) -> tuple[tuple[str, ...], str | None]:
    """The actor's identifier (as the person key) and, for an mbox, its address. A Group without an
    identifier (an anonymous group) is valid xAPI; it maps to nobody and waits as unmatched."""
    given = [name for name in _IDENTIFIERS if actor.get(name) is not None]
    if len(given) != 1:
        if not given and actor.get("objectType") == "Group":
            return (), None
        raise StatementError(where, ONE_IDENTIFIER)
    (name,) = given
    if name == "account":
        account = _object(actor, "account", f"{where}.")
        text(account.get("homePage"), f"{where}.account.homePage")
        return (text(account.get("name"), f"{where}.account.name"),), None
    value = text(actor[name], f"{where}.{name}")
    if name == "mbox":
        if not value.lower().startswith("mailto:"):
            raise StatementError(f"{where}.mbox", MBOX_MAILTO)
        return (value,), value[len("mailto:") :]
    return (value,), None


def _boolean(value: Any, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise StatementError(where, NOT_A_BOOLEAN)
    return value


def _value(result: Any, where: str) -> tuple[str | None, float | None]:
    """(kind, score) for the evidence: ("score", s), ("completion", None) or (None, None)."""
    if result is None:
        return None, None
    if not isinstance(result, Mapping):
        raise StatementError(where, NOT_AN_OBJECT)
    success = _boolean(result.get("success"), f"{where}.success")
    completion = _boolean(result.get("completion"), f"{where}.completion")
    score = _score(result.get("score"), f"{where}.score")
    if score is not None:
        return "score", score
    if success is not None:
        return "score", 1.0 if success else 0.0
    if completion:
        return "completion", None
    return None, None


def _score(score: Any, where: str) -> float | None:
    if score is None:
        return None
    if not isinstance(score, Mapping):
        raise StatementError(where, NOT_AN_OBJECT)
    scaled = number(score.get("scaled"), f"{where}.scaled")
    raw = number(score.get("raw"), f"{where}.raw")
    low = number(score.get("min"), f"{where}.min")
    high = number(score.get("max"), f"{where}.max")
    if scaled is not None and not -1 <= scaled <= 1:
        raise StatementError(f"{where}.scaled", SCALED_RANGE)
    if low is not None and high is not None and high <= low:
        raise StatementError(f"{where}.max", MAX_ABOVE_MIN)
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise StatementError(f"{where}.raw", RAW_RANGE)
    if scaled is not None:
        return max(scaled, 0.0)
    if raw is not None and high is not None:
        low = 0.0 if low is None else low
        if raw < low or high <= low:  # min absent, so the range check above could not apply
            raise StatementError(f"{where}.raw", RAW_RANGE)
        return (raw - low) / (high - low)
    return None


def _timestamp(value: Any, where: str) -> datetime.datetime:
    if value is None:
        return timezone.now()  # no timestamp: the statement happened when it was stored
    observed = parse_observed_at(value, datetime.UTC) if isinstance(value, str) else None  # no offset: UTC
    if observed is None:
        raise StatementError(where, NOT_A_TIMESTAMP)
    return observed
