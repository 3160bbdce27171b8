"""One student's complete record, for a family's request to inspect it.

"Complete" is decided from the schema, not from a list kept by hand, so a table added later cannot
be left out silently:
- a row is about the student when a foreign key to the user model named `student` or `user` points
  at them (other user keys, such as `recorded_by` or `acknowledged_by`, record what staff did);
- a row that exists only as part of a row already in the record (a foreign key to it with
  ON DELETE CASCADE: a path's steps, a step's choices, a profile's change history) is in the record;
- the source identities (external ids from other systems) of every row in the record are in it.
The user row itself is in it without the password hash.

This module lives in monitoring, the top layer, because the record spans every app.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from profiles.models import SourceIdentity, User
from profiles.spreadsheet import spreadsheet_safe

STUDENT_KEYS = ("student", "user")
LEFT_OUT_USER_FIELDS = frozenset({"password"})  # a hash, but never anyone's business to export


@dataclass(frozen=True)
class StudentRecord:
    student_id: int
    generated_at: datetime.datetime
    tables: dict[str, list[dict[str, Any]]]  # "app_label.model" → rows (column → value), ordered by id

    def row_counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.tables.items()}


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _project_models() -> list[type[models.Model]]:
    """The models of the project's own apps (not Django's sessions, admin log or auth tables)."""
    own = {"profiles", "mastery", "pathways", "monitoring"}
    return [model for model in apps.get_models() if model._meta.app_label in own]


def models_keyed_to_student() -> list[tuple[type[models.Model], str]]:
    """(model, field name) for every foreign key to the user model named `student` or `user`."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found = []
    for model in _project_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField)
                and field.name in STUDENT_KEYS
                and field.related_model is user_model
            ):
                found.append((model, field.name))
    return found


def _cascading_children(parent: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """(model, field name) for every foreign key to `parent` that deletes with it: parts of its rows."""
    children = []
    for model in _project_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField)
                and field.related_model is parent
                and field.remote_field.on_delete is models.CASCADE
            ):
                children.append((model, field.name))
    return children


def _rows(queryset: models.QuerySet) -> list[dict[str, Any]]:
    return list(queryset.order_by("pk").values())


def _pk(model: type[models.Model]) -> str:
    return model._meta.pk.attname  # type: ignore[union-attr]


def student_record_build(*, student_id: int) -> StudentRecord:
    """Everything stored about one student (see the module docstring). Raises User.DoesNotExist."""
    user = User.objects.get(pk=student_id)
    rows_by_model: dict[type[models.Model], dict[Any, dict[str, Any]]] = {
        User: {user.pk: _without_secrets(_rows(User.objects.filter(pk=user.pk))[0])}
    }
    pending = models_keyed_to_student()
    while pending:  # breadth first: the student's rows, then the rows that are parts of them
        model, field = pending.pop(0)
        parent = model._meta.get_field(field).related_model
        parent_ids = list(rows_by_model.get(parent, {}))  # type: ignore[arg-type]
        if model is User or not parent_ids:
            continue
        known = rows_by_model.setdefault(model, {})
        new = {row[_pk(model)]: row for row in _rows(model._default_manager.filter(**{f"{field}__in": parent_ids}))}
        new = {pk: row for pk, row in new.items() if pk not in known}
        if new:
            known.update(new)
            pending.extend(_cascading_children(model))

    tables = {_label(model): [rows[pk] for pk in sorted(rows)] for model, rows in rows_by_model.items() if rows}
    identities = _source_identities(rows_by_model)
    if identities:
        tables[_label(SourceIdentity)] = identities
    return StudentRecord(student_id=user.pk, generated_at=timezone.now(), tables=dict(sorted(tables.items())))


def _without_secrets(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in LEFT_OUT_USER_FIELDS}


def _source_identities(rows_by_model: dict[type[models.Model], dict[Any, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The external ids other systems use for the rows in the record."""
    condition = models.Q(pk__in=[])
    for model, rows in rows_by_model.items():
        if rows:
            content_type = ContentType.objects.get_for_model(model)
            condition |= models.Q(content_type=content_type, object_id__in=list(rows))
    return _rows(SourceIdentity.objects.filter(condition))


def student_record_json(record: StudentRecord) -> str:
    document = {
        "student_id": record.student_id,
        "generated_at": record.generated_at,
        "row_counts": record.row_counts(),
        "tables": record.tables,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return spreadsheet_safe(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return spreadsheet_safe(str(value))  # notes and names are typed by people


def student_record_csv_lines(record: StudentRecord) -> Iterator[str]:
    """The record as one CSV in long form (table, row id, column, value): every table in one file,
    readable in a spreadsheet whatever the tables' columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "row_id", "column", "value"])
    for table, rows in record.tables.items():
        pk = _pk(apps.get_model(table))
        for row in rows:
            row_id = row[pk]
            for column, value in row.items():
                writer.writerow([table, row_id, column, _csv_value(value)])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
