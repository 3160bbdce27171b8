"""Writes of the profiles app. Keyword-only, atomic; callers check access first (profiles/access.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Goal, LearnerProfile, LearnerProfileChange, User

PROFILE_LIST_FIELDS = ("strengths", "needs", "interests", "motivations", "accommodations")
PROFILE_EDITABLE_FIELDS = (*PROFILE_LIST_FIELDS, "notes")
GOAL_EDITABLE_FIELDS = ("title", "description", "target_date", "status", "conference_notes")


@transaction.atomic
def learner_profile_update(
    *, profile: LearnerProfile, changes: dict[str, Any], changed_by: User | None = None
) -> LearnerProfile:
    """Apply validated changes to the editable fields of a learner profile, and keep a history: one
    LearnerProfileChange per field whose value changed (old and new value, who, when). A field given with its
    current value writes nothing."""
    unknown = set(changes) - set(PROFILE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    # The stored values, read under a row lock: two edits at once each record what they really replaced.
    stored = LearnerProfile.objects.select_for_update().values(*PROFILE_EDITABLE_FIELDS).get(pk=profile.pk)
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.full_clean()
    changed = [field for field in changes if getattr(profile, field) != stored[field]]
    profile.save(update_fields=[*changes, "updated_at"])
    now = timezone.now()
    LearnerProfileChange.objects.bulk_create(
        LearnerProfileChange(
            profile=profile,
            field=field,
            old=stored[field],
            new=getattr(profile, field),
            changed_by=changed_by,
            changed_at=now,
        )
        for field in changed
    )
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
