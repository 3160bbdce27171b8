"""Caliper 1.1 / 1.2 envelopes → observations (mastery.interop.tools).

Evidence comes from three kinds of event; every other event (navigation, viewing, annotation, an
assessment started or paused, ...) is acknowledged and reported as unsupported, never stored:

- GradeEvent (Graded): the Attempt's `assignee` scored `generated.scoreGiven / generated.maxScore` on
  the Attempt's `assignable`.
- AssessmentEvent (Submitted): the actor completed the assessment (an activity completion).
- AssessmentItemEvent (Completed): the actor completed the item: a completion, or a score when the
  generated response carries one (scoreGiven and maxScore).

The event id (a urn:uuid) is the evidence's external id; the actor's (or assignee's) id and the activity
id map through SourceIdentity as for xAPI. A request that is not an envelope is refused (400) naming the
field (`data[0].eventTime`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mastery.interop.fields import NOT_A_TIMESTAMP, NOT_AN_OBJECT, REQUIRED, FieldError, number, text
from mastery.interop.tools import Observation
from mastery.models import UnmatchedStatement
from mastery.services.evidence import parse_observed_at

EVENTS_PER_ENVELOPE = 1000

NOT_A_LIST = "Must be a non-empty array."
NOT_AN_ENTITY = "Must be an id (string) or an object with an id."
MAX_POSITIVE = "Must be greater than 0."
SCORE_RANGE = "Must be between 0 and maxScore."
TOO_MANY = f"At most {EVENTS_PER_ENVELOPE} events per envelope."
SAME_ID_DIFFERENT = "Same id as an earlier event of this envelope, with different content."


EnvelopeError = FieldError  # a request that is not a Caliper envelope: `field` names where


@dataclass
class ParsedEnvelope:
    observations: list[Observation] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)  # {id, type, action} per event


def parse_envelope(body: Any) -> ParsedEnvelope:
    if not isinstance(body, Mapping):
        raise EnvelopeError("", NOT_AN_OBJECT)
    for name in ("sensor", "dataVersion"):
        text(body.get(name), name)
    _time(body.get("sendTime"), "sendTime")
    data = body.get("data")
    if data is None:
        raise EnvelopeError("data", REQUIRED)
    if not isinstance(data, list) or not data:
        raise EnvelopeError("data", NOT_A_LIST)
    if len(data) > EVENTS_PER_ENVELOPE:
        raise EnvelopeError("data", TOO_MANY)
    parsed = ParsedEnvelope()
    seen: dict[str, Any] = {}
    for index, event in enumerate(data):
        where = f"data[{index}]"
        outcome = parse_event(event, where=where)
        event_id = outcome.statement_id if isinstance(outcome, Observation) else outcome["id"]
        if event_id in seen:
            if seen[event_id] != event:
                raise EnvelopeError(f"{where}.id", SAME_ID_DIFFERENT)
            continue
        seen[event_id] = event
        if isinstance(outcome, Observation):
            parsed.observations.append(outcome)
        else:
            parsed.unsupported.append(outcome)
    return parsed


def parse_event(event: Any, *, where: str = "") -> Observation | dict[str, Any]:
    """An observation, or {id, type, action} for an event that carries no evidence."""
    prefix = f"{where}." if where else ""
    if not isinstance(event, Mapping):
        raise EnvelopeError(where, NOT_AN_OBJECT)
    event_id = text(event.get("id"), f"{prefix}id")
    event_type = text(event.get("type"), f"{prefix}type")
    action = text(event.get("action"), f"{prefix}action")
    actor = _entity_id(event.get("actor"), f"{prefix}actor")
    target = event.get("object")
    activity = _entity_id(target, f"{prefix}object")
    observed_at = _time(event.get("eventTime"), f"{prefix}eventTime")
    kind: str | None = None
    score: float | None = None
    if event_type == "GradeEvent" and action == "Graded":
        if not isinstance(target, Mapping):  # an Attempt, written out: who did it, on what
            raise EnvelopeError(f"{prefix}object", NOT_AN_OBJECT)
        actor = _entity_id(target.get("assignee"), f"{prefix}object.assignee")
        activity = _entity_id(target.get("assignable"), f"{prefix}object.assignable")
        generated = event.get("generated")
        if not isinstance(generated, Mapping):
            raise EnvelopeError(f"{prefix}generated", REQUIRED if generated is None else NOT_AN_OBJECT)
        kind, score = "score", _score(generated, f"{prefix}generated", required=True)
    elif event_type == "AssessmentEvent" and action == "Submitted":
        kind = "completion"
    elif event_type == "AssessmentItemEvent" and action == "Completed":
        generated = event.get("generated")
        item_score = _score(generated, f"{prefix}generated", required=False) if isinstance(generated, Mapping) else None
        kind, score = ("score", item_score) if item_score is not None else ("completion", None)
    else:
        return {"id": event_id, "type": event_type, "action": action}
    return Observation(
        format=UnmatchedStatement.Format.CALIPER,
        statement_id=event_id,
        person_keys=(actor,),
        email=None,
        activity=activity,
        observed_at=observed_at,
        kind=kind,
        score=score,
        statement=dict(event),
    )


def _entity_id(value: Any, where: str) -> str:
    """A Caliper entity is written either as its id or as an object with one."""
    if value is None:
        raise EnvelopeError(where, REQUIRED)
    if isinstance(value, str):
        return text(value, where)
    if isinstance(value, Mapping):
        return text(value.get("id"), f"{where}.id")
    raise EnvelopeError(where, NOT_AN_ENTITY)


def _time(value: Any, where: str) -> datetime.datetime:
    if value is None:
        raise EnvelopeError(where, REQUIRED)
    observed = parse_observed_at(value, None) if isinstance(value, str) else None
    if observed is None:
        raise EnvelopeError(where, NOT_A_TIMESTAMP)
    return observed


def _number(value: Any, where: str) -> float:
    present = number(value, where)
    if present is None:
        raise EnvelopeError(where, REQUIRED)
    return present


def _score(generated: Mapping[str, Any], where: str, *, required: bool) -> float | None:
    """scoreGiven / maxScore in [0, 1]; None when not required and the generated entity has no score."""
    if not required and generated.get("scoreGiven") is None:
        return None
    given = _number(generated.get("scoreGiven"), f"{where}.scoreGiven")
    maximum = _number(generated.get("maxScore"), f"{where}.maxScore")
    if maximum <= 0:
        raise EnvelopeError(f"{where}.maxScore", MAX_POSITIVE)
    if not 0 <= given <= maximum:
        raise EnvelopeError(f"{where}.scoreGiven", SCORE_RANGE)
    return given / maximum
