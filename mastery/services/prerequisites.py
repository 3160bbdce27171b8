"""Writes of the mastery app. Keyword-only and atomic."""

from __future__ import annotations

from django.db import transaction

from mastery.models import Competency, Framework, Prerequisite


@transaction.atomic
def prerequisite_add(*, competency: Competency, prerequisite: Competency) -> Prerequisite:
    """Add the edge "prerequisite before competency", refusing a duplicate or a cycle.

    The frameworks of both ends are locked first (in id order, so two writers cannot deadlock):
    two edges that are each harmless alone but close a cycle together cannot both pass the check.
    """
    framework_ids = sorted({competency.framework_id, prerequisite.framework_id})
    list(Framework.objects.select_for_update().filter(id__in=framework_ids).order_by("id"))
    edge = Prerequisite(competency=competency, prerequisite=prerequisite)
    edge.full_clean()
    edge.save()
    return edge
