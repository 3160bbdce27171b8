"""Set-based upsert of one kind of row, linked through SourceIdentity, counting what changed.

Each desired row has a natural key (the model's unique constraint), the fields to hold, and the
external ids that name it (several OneRoster rows may name one local row: two semester enrollments of
one student in one year-long section). A row linked by an earlier import is updated by primary key
only when a compared field differs; an unlinked row is upserted on its natural key (so a row made by
hand with the same key is adopted, not duplicated). Nothing is written when nothing differs.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.utils import timezone

from ..models import SourceIdentity

BATCH = 2000


@dataclass
class Desired:
    key: tuple
    fields: dict[str, Any]  # every field to write, key fields included
    external_ids: dict[str, dict]  # external id → extra kept on its SourceIdentity


@dataclass
class EntityResult:
    counts: Counter = field(default_factory=Counter)  # create, update, deactivate, unchanged
    ids: dict[str, int] = field(default_factory=dict)  # external id → local pk (this set's rows)
    active_before: int = 0  # linked rows that were active before the import
    identity_writes: int = 0


def identity_map(system: str, entity_type: str) -> dict[str, tuple[int, dict]]:
    rows = SourceIdentity.objects.filter(system=system, entity_type=entity_type)
    return {
        external_id: (object_id, extra)
        for external_id, object_id, extra in rows.values_list("external_id", "object_id", "extra")
    }


def merge(desired: list[Desired], combine: Any = None) -> list[Desired]:
    """One desired row per natural key; `combine(kept_fields, other_fields)` merges clashing rows."""
    by_key: dict[tuple, Desired] = {}
    for row in desired:
        kept = by_key.get(row.key)
        if kept is None:
            by_key[row.key] = row
            continue
        kept.external_ids.update(row.external_ids)
        if combine:
            combine(kept.fields, row.fields)
    return list(by_key.values())


class Sync:
    """Upsert one entity type's desired rows for one source system."""

    def __init__(
        self,
        *,
        system: str,
        entity_type: str,
        model: type[models.Model],
        key_fields: list[str],
        compare_fields: list[str],
        active_field: str | None = None,
        adopt: bool = True,
    ) -> None:
        self.system = system
        self.entity_type = entity_type
        self.model = model
        self.key_fields = key_fields
        self.compare_fields = compare_fields
        self.active_field = active_field
        # Upsert new rows on their natural key (adopting a row made by hand), or insert them plainly
        # (users: an import must never take over an existing account).
        self.adopt = adopt
        self.content_type = ContentType.objects.get_for_model(model)

    def run(self, desired: list[Desired], *, bulk: bool) -> EntityResult:
        result = EntityResult()
        identities = identity_map(self.system, self.entity_type)
        linked_ids = {object_id for object_id, _ in identities.values()}
        current = self._current()
        if self.active_field:
            result.active_before = sum(1 for row in current.values() if row[self.active_field])
        row_pks: dict[int, int] = {}  # desired index → pk
        to_create: list[tuple[int, Desired]] = []
        to_update: list[models.Model] = []
        for index, row in enumerate(desired):
            pk = next(
                (identities[e][0] for e in row.external_ids if e in identities and identities[e][0] in current), None
            )
            if pk is None:
                to_create.append((index, row))
                continue
            row_pks[index] = pk
            self._compare(pk, row, current[pk], to_update, result)
        self._write_updates(to_update)
        row_pks.update(self._write_creates(to_create))
        result.counts["create"] += len(to_create)
        if bulk and self.active_field:
            self._deactivate_absent(linked_ids - set(row_pks.values()), current, result)
        result.identity_writes = self._link(desired, row_pks, identities, result)
        return result

    def _current(self) -> dict[int, dict]:
        """The compared fields of every row this source's identities of this type point at."""
        fields = [*self.compare_fields, *([self.active_field] if self.active_field else [])]
        linked = SourceIdentity.objects.filter(system=self.system, entity_type=self.entity_type).values("object_id")
        rows = self.model._default_manager.filter(pk__in=linked).values("pk", *set(fields))
        return {row["pk"]: row for row in rows}

    def _compare(self, pk: int, row: Desired, now: dict, to_update: list, result: EntityResult) -> None:
        changed = {name: row.fields[name] for name in self.compare_fields if now[name] != row.fields[name]}
        if not changed:
            result.counts["unchanged"] += 1
            return
        deactivating = self.active_field in changed and not changed[self.active_field]
        result.counts["deactivate" if deactivating else "update"] += 1
        to_update.append(self.model(pk=pk, **{name: row.fields[name] for name in self.compare_fields}))

    def _write_updates(self, to_update: list[models.Model]) -> None:
        if to_update:
            self.model._default_manager.bulk_update(to_update, self.compare_fields, batch_size=BATCH)

    def _write_creates(self, to_create: list[tuple[int, Desired]]) -> dict[int, int]:
        """Insert (or, adopting, upsert on the natural key) through COPY into a staging table: one
        statement for the whole set instead of a parameter list per batch."""
        if not to_create:
            return {}
        ids = copy_insert(
            self.model,
            [row.fields for _, row in to_create],
            key_fields=self.key_fields,
            update_fields=[n for n in to_create[0][1].fields if n not in self.key_fields] if self.adopt else None,
        )
        return {index: ids[row.key] for index, row in to_create}

    def _deactivate_absent(self, absent: set[int], current: dict[int, dict], result: EntityResult) -> None:
        """Rows an earlier import linked that a bulk file no longer lists: deactivated, never deleted."""
        assert self.active_field
        active = [pk for pk in absent if pk in current and current[pk][self.active_field]]
        if active:
            self.model._default_manager.filter(pk__in=active).update(**{self.active_field: False})
        result.counts["deactivate"] += len(active)

    def _link(self, desired: list[Desired], row_pks: dict[int, int], identities: dict, result: EntityResult) -> int:
        """SourceIdentity for every external id: created when new, updated when its row or extra changed."""
        new, changed = [], []
        for index, row in enumerate(desired):
            pk = row_pks[index]
            for external_id, extra in row.external_ids.items():
                result.ids[external_id] = pk
                linked = identities.get(external_id)
                if linked is None:
                    new.append((external_id, pk, extra))
                elif linked != (pk, extra):
                    changed.append((external_id, pk, extra))
        copy_identities(self.system, self.entity_type, self.content_type.pk, new)
        if changed:
            by_external = dict(
                SourceIdentity.objects.filter(
                    system=self.system, entity_type=self.entity_type, external_id__in=[c[0] for c in changed]
                ).values_list("external_id", "pk")
            )
            SourceIdentity.objects.bulk_update(
                [SourceIdentity(pk=by_external[e], object_id=pk, extra=extra) for e, pk, extra in changed],
                ["object_id", "extra"],
                batch_size=BATCH,
            )
        return len(new) + len(changed)


def copy_identities(system: str, entity_type: str, content_type_id: int, rows: list[tuple[str, int, dict]]) -> None:
    """New SourceIdentity rows (external id, object id, extra) through COPY: they are the bulk of an import."""
    if not rows:
        return
    table = SourceIdentity._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        sql = (
            f'COPY "{table}" (system, entity_type, external_id, content_type_id, object_id, extra, created_at) '
            "FROM STDIN"
        )
        with cursor.cursor.copy(sql) as copy:
            for external_id, object_id, extra in rows:
                copy.write_row((system, entity_type, external_id, content_type_id, object_id, json.dumps(extra), now))


def copy_insert(
    model: type[models.Model], rows: list[dict[str, Any]], *, key_fields: list[str], update_fields: list[str] | None
) -> dict[tuple, int]:
    """Insert `rows` (field name → value; every other column gets the model's default, as Django's own
    insert would) through a COPY-filled staging table; with `update_fields`, a row whose natural key
    exists is updated instead (and adopted). Returns natural key → primary key."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key or f.is_relation]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    keys = [meta.get_field(name) for name in key_fields]
    key_columns = ", ".join(f'"{f.column}"' for f in keys)  # type: ignore[union-attr]
    conflict = ""
    if update_fields is not None:
        updates = [meta.get_field(name).column for name in update_fields] or [keys[0].column]  # type: ignore[union-attr]
        conflict = f"ON CONFLICT ({key_columns}) DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updates)
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMP TABLE "_import_stage" ON COMMIT DROP AS SELECT {columns} FROM "{meta.db_table}" WITH NO DATA'
        )
        with cursor.cursor.copy(f'COPY "_import_stage" ({columns}) FROM STDIN') as copy:
            for values in _column_values(model, fields, rows):
                copy.write_row(values)
        cursor.execute(
            f'INSERT INTO "{meta.db_table}" ({columns}) SELECT {columns} FROM "_import_stage" {conflict} '
            f'RETURNING "{meta.pk.column}", {key_columns}'
        )
        returned = cursor.fetchall()
        cursor.execute('DROP TABLE "_import_stage"')
    return {tuple(row[1:]): row[0] for row in returned}


def _column_values(model: type[models.Model], fields: list[Any], rows: list[dict[str, Any]]) -> Any:
    """Each row's values in column order. The model's defaults are taken once from one unsaved instance
    (instantiating a model per row costs more than the COPY itself); auto_now columns get the time."""
    template = model()
    now = timezone.now()
    defaults = {}
    for column in fields:
        auto = getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False)
        defaults[column.attname] = now if auto else getattr(template, column.attname)
    attnames = {f.name: f.attname for f in fields} | {f.attname: f.attname for f in fields}
    json_columns = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    order = [f.attname for f in fields]
    for row in rows:
        values = dict(defaults)
        for name, value in row.items():
            values[attnames[name]] = value.pk if isinstance(value, models.Model) else value
        for attname in json_columns:
            values[attname] = json.dumps(values[attname])
        yield [values[attname] for attname in order]
