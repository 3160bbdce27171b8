"""Activities: instructional materials linked to competencies, with a quality review by staff. A new
activity waits for review; only approved ones are offered to students
(`choice_selectors.activities_for_competency`). Keyword-only and atomic.

A reviewed activity may be reviewed again (a link breaks, a better judgement): the latest review wins,
and a rejected activity stops being offered at once. Choices already made keep their activity (history);
a pending choice with a rejected activity cannot be approved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from mastery.models import Competency
from pathways.models import Activity
from profiles import access
from profiles.models import User

logger = logging.getLogger(__name__)

# Messages (tests compare them exactly).
MAY_NOT_REVIEW = "Only staff add and review activities."
TITLE_REQUIRED = "Give the activity a title."
COMPETENCIES_REQUIRED = "Link the activity to at least one competency."
NOT_WHOLE_NUMBERS = "Competencies are given by their ids (whole numbers)."
NO_SUCH_COMPETENCIES = "No such competency: {ids}."
NO_SUCH_ACTIVITY = "No such activity."
REVIEW_STATUS = "A review approves or rejects: status must be approved or rejected."
REJECTION_NEEDS_NOTE = "Say why the activity is rejected, so its author can improve it."


def _competency_ids_error(ids: list[Any]) -> str | None:
    if not ids:
        return COMPETENCIES_REQUIRED
    if any(isinstance(v, bool) or not isinstance(v, int) for v in ids):
        return NOT_WHOLE_NUMBERS
    missing = sorted(set(ids) - set(Competency.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    return NO_SUCH_COMPETENCIES.format(ids=", ".join(map(str, missing))) if missing else None


@transaction.atomic
def activity_create(
    *, title: str, competency_ids: Iterable[int], by: User, description: str = "", url: str = ""
) -> Activity:
    """Add an activity for the given competencies; it waits for review before students see it."""
    if not access.can_review_activities(by):
        raise PermissionDenied(MAY_NOT_REVIEW)
    ids = list(competency_ids)
    activity = Activity(title=(title or "").strip(), description=(description or "").strip(), url=(url or "").strip())
    errors: dict[str, list[str]] = {}
    try:
        activity.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    if not activity.title:
        errors["title"] = [TITLE_REQUIRED]
    if message := _competency_ids_error(ids):
        errors["competency_ids"] = [message]
    if errors:
        raise ValidationError(errors)
    activity.save()
    activity.competencies.set(ids)
    logger.info("activity %s created by user %s", activity.pk, by.pk)
    return activity


@transaction.atomic
def activity_review(*, activity_id: int, status: str, note: str = "", by: User) -> Activity:
    """Record a quality review: approved (offered to students) or rejected (with a note saying why)."""
    if not access.can_review_activities(by):
        raise PermissionDenied(MAY_NOT_REVIEW)
    activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
    if activity is None:
        raise ValidationError({"activity_id": NO_SUCH_ACTIVITY})
    note = (note or "").strip()
    if status not in (Activity.Review.APPROVED, Activity.Review.REJECTED):
        raise ValidationError({"status": REVIEW_STATUS})
    if status == Activity.Review.REJECTED and not note:
        raise ValidationError({"note": REJECTION_NEEDS_NOTE})
    activity.review_status = status
    activity.review_note = note
    activity.reviewed_by = by
    activity.reviewed_at = timezone.now()
    activity.save(update_fields=["review_status", "review_note", "reviewed_by", "reviewed_at"])
    logger.info("activity %s %s by user %s", activity.pk, status, by.pk)
    return activity
