"""Writes of the profiles app. Keyword-only, atomic; callers check access first (profiles/access.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from .models import Goal, LearnerProfile, User

PROFILE_LIST_FIELDS = ("strengths", "needs", "interests", "motivations", "accommodations")
PROFILE_EDITABLE_FIELDS = (*PROFILE_LIST_FIELDS, "notes")
GOAL_EDITABLE_FIELDS = ("title", "description", "target_date", "status", "conference_notes")


@transaction.atomic
def learner_profile_update(*, profile: LearnerProfile, changes: dict[str, Any]) -> LearnerProfile:
    """Apply validated changes to the editable fields of a learner profile."""
    unknown = set(changes) - set(PROFILE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.full_clean()
    profile.save(update_fields=[*changes, "updated_at"])
    return profile


@transaction.atomic
def goal_create(
    *,
    student: User,
    set_with: User | None,
    title: str,
    target_date: datetime.date,
    description: str = "",
    conference_notes: str = "",
) -> Goal:
    goal = Goal(
        student=student,
        set_with=set_with,
        title=title,
        target_date=target_date,
        description=description,
        conference_notes=conference_notes,
    )
    goal.full_clean()
    goal.save()
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, changes: dict[str, Any]) -> Goal:
    unknown = set(changes) - set(GOAL_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(goal, field, value)
    goal.full_clean()
    goal.save(update_fields=[*changes, "updated_at"])
    return goal
