"""Storing a parsed CASE package: one transaction, upserts that write only what differs.

Where identifiers live: on the rows themselves. `Framework.source_identifier` holds the CFDocument
identifier and `Competency.source_identifier` the CFItem identifier (DESIGN section 3 gives both models
that field, unique). CASE identifiers are globally unique GUIDs meant to be the stable key across
systems, so profiles' generic `SourceIdentity` (made for rosters, where one person arrives from several
systems) would only add a join. `exactMatchOf` targets are `CompetencyAlias` rows; `precedes` whose
other end is in no loaded framework are `UnresolvedAssociation` rows until that framework arrives.

A competency is assessable when it has no children in the package (a leaf); strands, clusters and
standards with components only group. CFItemType is free text that differs between publishers
("Standard" is a leaf in one framework and a parent in another), so the structure decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mastery.models import (
    Competency,
    CompetencyAlias,
    Framework,
    Prerequisite,
    UnresolvedAssociation,
)

from .parse import (
    CODE_MAX_LENGTH,
    DEFAULT_SUBJECT,
    EXACT_MATCH_OF,
    PRECEDES,
    CaseAssociation,
    CaseItem,
    CasePackage,
    CasePackageError,
    CaseProblem,
    case_parse,
)

GRADES_WHEN_UNKNOWN = (0, 12)


@dataclass
class CaseImportReport:
    """What an import changed. `writes` is 0 when the package was already stored exactly."""

    framework_id: int
    framework_created: bool = False
    framework_updated: bool = False
    items_created: int = 0
    items_updated: int = 0
    items_deprecated: int = 0
    prerequisites_created: int = 0
    aliases_created: int = 0
    aliases_deleted: int = 0
    unresolved_stored: int = 0
    unresolved_deleted: int = 0
    unresolved_resolved: int = 0
    warnings: list[CaseProblem] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report in words, one line per kind of change (the command prints them, the page shows them)."""
        framework = "created" if self.framework_created else "updated" if self.framework_updated else "unchanged"
        return [
            f"framework {framework} (id {self.framework_id})",
            f"competencies: {self.items_created} created, {self.items_updated} updated, "
            f"{self.items_deprecated} deprecated",
            f"prerequisite edges: {self.prerequisites_created} created "
            f"({self.unresolved_resolved} of them waited for this framework)",
            f"aliases (exactMatchOf): {self.aliases_created} created, {self.aliases_deleted} removed",
            f"associations waiting for another framework: {self.unresolved_stored} stored, "
            f"{self.unresolved_deleted} no longer waiting",
        ]

    @property
    def writes(self) -> int:
        return sum(int(value) for name, value in vars(self).items() if name not in {"framework_id", "warnings"})


def case_import(*, data: bytes | str) -> CaseImportReport:
    """Validate the whole package first, then store it in one transaction. Raises CasePackageError
    (nothing stored) naming the JSON path and identifier of every problem."""
    package = case_parse(data)
    try:
        report = _store(package)
    except CasePackageError as exc:
        raise CasePackageError(exc.problems, package.warnings) from None
    report.warnings = [*package.warnings, *report.warnings]
    return report


@transaction.atomic
def _store(package: CasePackage) -> CaseImportReport:
    framework, created, updated = _upsert_framework(package)
    report = CaseImportReport(framework_id=framework.pk, framework_created=created, framework_updated=updated)
    pk_of = _upsert_competencies(package, framework, report)
    _sync_aliases(package, framework, pk_of, report)
    _apply_precedes(package, framework, pk_of, report)
    _resolve_waiting(package, framework, report)
    return report


# --- framework --------------------------------------------------------------------------------------


def _framework_values(package: CasePackage, existing: Framework | None) -> dict[str, Any]:
    grades = package.grade_of.values()
    if grades:
        low, high = min(grades), max(grades)
    elif existing is not None:
        low, high = existing.grade_low, existing.grade_high
    else:
        low, high = GRADES_WHEN_UNKNOWN
    # A subject set by hand survives a re-import of a file that names none.
    subject = package.subject or (existing.subject if existing else DEFAULT_SUBJECT)
    return {
        "source_identifier": package.identifier,
        "name": package.title,
        "subject": subject,
        "grade_low": low,
        "grade_high": high,
    }


def _find_framework(package: CasePackage) -> Framework | None:
    """By its CASE identifier; else a hand-made framework of the same subject and name (adopted)."""
    locked = Framework.objects.select_for_update()
    framework = locked.filter(source_identifier=package.identifier).first()
    if framework is None:
        framework = locked.filter(
            source_identifier__isnull=True, name=package.title, subject=package.subject or DEFAULT_SUBJECT
        ).first()
    return framework


def _upsert_framework(package: CasePackage) -> tuple[Framework, bool, bool]:
    framework = _find_framework(package)
    values = _framework_values(package, framework)
    clash = Framework.objects.filter(name=values["name"], subject=values["subject"])
    if framework is not None:
        clash = clash.exclude(pk=framework.pk)
    if clash.exists():
        raise CasePackageError(
            [
                CaseProblem(
                    "framework_name_taken",
                    "CFDocument.title",
                    f"another framework is already named “{values['name']}” in {values['subject']}",
                    package.identifier,
                )
            ]
        )
    if framework is None:
        return Framework.objects.create(**values), True, False
    changed = _assign(framework, values)
    if changed:
        framework.save(update_fields=changed)
    return framework, False, bool(changed)


def _assign(row: Any, values: dict[str, Any]) -> list[str]:
    """Set the values that differ; the names of the fields changed."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


# --- competencies -------------------------------------------------------------------------------------


def _refuse_foreign_items(package: CasePackage, framework: Framework) -> None:
    """An item identifier already used by another framework's competency cannot move frameworks."""
    foreign = dict(
        Competency.objects.filter(source_identifier__in=package.item_ids())
        .exclude(framework=framework)
        .values_list("source_identifier", "framework__name")
    )
    problems = [
        CaseProblem(
            "item_in_other_framework",
            item.path,
            f"is already a competency of the framework “{foreign[item.identifier]}”",
            item.identifier,
        )
        for item in package.items
        if item.identifier in foreign
    ]
    if problems:
        raise CasePackageError(problems)


def _match_rows(package: CasePackage, rows: list[Competency]) -> tuple[dict[str, Competency], list[Competency]]:
    """Package item → its stored row (by identifier; else a hand-made row with the same code, adopted),
    and the rows that came from CASE but are no longer in the package (to deprecate)."""
    by_identifier = {row.source_identifier: row for row in rows if row.source_identifier}
    hand_made_by_code = {row.code: row for row in rows if not row.source_identifier}
    matched: dict[str, Competency] = {}
    for item in package.items:
        row = by_identifier.get(item.identifier) or hand_made_by_code.pop(package.code_of[item.identifier], None)
        if row is not None:
            matched[item.identifier] = row
    vanished = [row for identifier, row in by_identifier.items() if identifier not in package.item_ids()]
    return matched, vanished


def _free_codes(
    package: CasePackage, matched: dict[str, Competency], rows: list[Competency], report: CaseImportReport
) -> None:
    """Make every code the package wants available. A row outside the package (vanished, or made by hand)
    that holds one gives it up (suffixed with its id; it keeps its evidence); rows whose code changes pass
    through a temporary code, so two items that swap codes never trip the unique (framework, code)."""
    wanted = set(package.code_of.values())
    in_package = {row.pk for row in matched.values()}
    renamed = [row for row in rows if row.pk not in in_package and row.code in wanted]
    for row in renamed:
        new_code = f"{row.code}~{row.pk}"[-CODE_MAX_LENGTH:]
        report.warnings.append(
            CaseProblem(
                "code_given_up",
                "CFItems",
                f"{row.code} now names another item; this one is now {new_code}",
                row.source_identifier or "",
            )
        )
        row.code = new_code
    moving = [row for identifier, row in matched.items() if row.code != package.code_of[identifier]]
    for row in moving:
        row.code = f"~{row.pk}"
    if renamed or moving:
        Competency.objects.bulk_update(renamed + moving, ["code"])


def _desired(package: CasePackage, item: CaseItem, pk_of: dict[str, int]) -> dict[str, Any]:
    """The stored values of an item; its parent once the parent has an id (new rows get it afterwards)."""
    parent = package.parent_of[item.identifier]
    return {
        "source_identifier": item.identifier,
        "code": package.code_of[item.identifier],
        "statement": item.statement,
        "grade_level": package.grade_of[item.identifier],
        "sort_order": package.sort_order[item.identifier],
        "assessable": not package.has_children(item.identifier),
        "deprecated_at": None,  # (Competency.deprecated follows it)
        "parent_id": pk_of.get(parent) if parent else None,
    }


def _upsert_competencies(package: CasePackage, framework: Framework, report: CaseImportReport) -> dict[str, int]:
    _refuse_foreign_items(package, framework)
    rows = list(Competency.objects.filter(framework=framework).order_by("pk"))
    matched, vanished = _match_rows(package, rows)
    _free_codes(package, matched, rows, report)
    pk_of = {identifier: row.pk for identifier, row in matched.items()}
    report.items_created = _create_new(package, framework, matched, pk_of)
    report.items_updated = _update_matched(package, matched, pk_of)
    report.items_deprecated = _deprecate(vanished)
    return pk_of


def _create_new(
    package: CasePackage, framework: Framework, matched: dict[str, Competency], pk_of: dict[str, int]
) -> int:
    """Rows for new items, one level at a time from the top, so each is created with its parent's id and
    never needs a second write (a bulk_update of thousands of rows is slow)."""
    levels: dict[int, list[CaseItem]] = defaultdict(list)
    for item in package.items:
        if item.identifier not in matched:
            levels[package.depth_of[item.identifier]].append(item)
    created = 0
    for depth in sorted(levels):
        level = levels[depth]
        rows = Competency.objects.bulk_create(
            [Competency(framework=framework, **_desired(package, item, pk_of)) for item in level], batch_size=1000
        )
        pk_of.update({item.identifier: row.pk for item, row in zip(level, rows, strict=True)})
        created += len(rows)
    return created


def _update_matched(package: CasePackage, matched: dict[str, Competency], pk_of: dict[str, int]) -> int:
    """Write the stored rows that differ from the package, and only the fields that differ."""
    changed, fields = [], set()
    for item in package.items:
        row = matched.get(item.identifier)
        if row is not None and (names := _assign(row, _desired(package, item, pk_of))):
            changed.append(row)
            fields.update(names)
    if changed:
        Competency.objects.bulk_update(changed, sorted(fields), batch_size=500)
    return len(changed)


def _deprecate(vanished: list[Competency]) -> int:
    """Rows gone from the package are flagged, never deleted: their evidence and states stay."""
    now = timezone.now()
    newly = [row for row in vanished if row.deprecated_at is None]
    for row in newly:
        row.deprecated_at = now  # deprecated follows, generated by PostgreSQL
    if newly:
        Competency.objects.bulk_update(newly, ["deprecated_at"])
    return len(newly)


# --- exactMatchOf → aliases ------------------------------------------------------------------------------


def _wanted_aliases(package: CasePackage, pk_of: dict[str, int]) -> dict[tuple[int, str], CaseAssociation]:
    wanted: dict[tuple[int, str], CaseAssociation] = {}
    for assoc in package.associations_of(EXACT_MATCH_OF):
        origin, destination = assoc.origin.identifier, assoc.destination.identifier
        if origin in pk_of:
            wanted[(pk_of[origin], destination)] = assoc
        elif destination in pk_of:
            wanted[(pk_of[destination], origin)] = assoc
    return wanted


def _refuse_aliases_of_other_frameworks(framework: Framework, wanted: dict[tuple[int, str], CaseAssociation]) -> None:
    """An exactMatchOf association identifier is stored once; another framework's package already holds it."""
    taken = set(
        CompetencyAlias.objects.filter(association_identifier__in=[assoc.identifier for assoc in wanted.values()])
        .exclude(competency__framework=framework)
        .values_list("association_identifier", flat=True)
    )
    problems = [
        CaseProblem(
            "association_in_other_framework", assoc.path, "is already an alias of another framework", assoc.identifier
        )
        for assoc in wanted.values()
        if assoc.identifier in taken
    ]
    if problems:
        raise CasePackageError(problems)


def _sync_aliases(package: CasePackage, framework: Framework, pk_of: dict[str, int], report: CaseImportReport) -> None:
    wanted = _wanted_aliases(package, pk_of)
    stored = {
        (alias.competency_id, alias.identifier): alias
        for alias in CompetencyAlias.objects.filter(competency__framework=framework)
    }
    # Aliases an earlier import made whose association has left the package; hand-made ones stay.
    stale = [alias.pk for key, alias in stored.items() if key not in wanted and alias.association_identifier]
    if stale:
        CompetencyAlias.objects.filter(pk__in=stale).delete()
    _refuse_aliases_of_other_frameworks(framework, wanted)
    fresh = []
    for (competency_id, identifier), assoc in wanted.items():
        if (competency_id, identifier) in stored:
            continue
        other = assoc.destination if assoc.origin.identifier != identifier else assoc.origin
        fresh.append(
            CompetencyAlias(
                competency_id=competency_id,
                identifier=identifier,
                uri=other.uri,
                association_identifier=assoc.identifier,
            )
        )
    if fresh:
        CompetencyAlias.objects.bulk_create(fresh)
    report.aliases_created, report.aliases_deleted = len(fresh), len(stale)


# --- precedes → prerequisite edges ---------------------------------------------------------------------


def _known_competencies(identifiers: Iterable[str]) -> dict[str, int]:
    rows = Competency.objects.filter(source_identifier__in=set(identifiers)).values_list("source_identifier", "pk")
    return {identifier: pk for identifier, pk in rows if identifier}


def _requires_path(requires: dict[int, set[int]], *, start: int, target: int) -> list[int]:
    """Ids from `start` down its prerequisites (transitively) to `target`, or [] when it does not need it."""
    came_from: dict[int, int | None] = {start: None}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == target:
            path = [node]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for prerequisite in requires.get(node, ()):
            if prerequisite not in came_from:
                came_from[prerequisite] = node
                stack.append(prerequisite)
    return []


def _cycle_problem(prerequisite: int, competency: int, trail: list[int], where: CaseProblem) -> CasePackageError:
    """The refusal, worded as Prerequisite.clean words it for one edge added by hand."""
    codes = dict(Competency.objects.filter(pk__in={prerequisite, competency, *trail}).values_list("pk", "code"))
    if prerequisite == competency:
        message = f"{codes[competency]} cannot be a prerequisite of itself."
    else:
        message = (
            f"Making {codes[prerequisite]} a prerequisite of {codes[competency]} would create a cycle "
            f"({' needs '.join(codes[node] for node in [competency, *trail])})."
        )
    return CasePackageError([CaseProblem("prerequisite_cycle", where.path, message, where.identifier)])


def _add_edges(pairs: list[tuple[int, int, CaseProblem]], report: CaseImportReport) -> None:
    """Add each missing edge (prerequisite, competency), refusing the package if one would close a cycle.

    The rule of `services.prerequisite_add` (Prerequisite.clean), checked for the whole batch in memory and
    stored with one bulk insert: edge by edge, its recursive SQL took 16 s for 600 edges. Like the service,
    it first locks the frameworks of every end, in id order, so a concurrent writer cannot close a cycle
    between the check and the insert. The graph is read whole: a district's edges are thousands of pairs."""
    if not pairs:
        return
    ends = {pk for prerequisite, competency, _ in pairs for pk in (prerequisite, competency)}
    framework_ids = sorted(set(Competency.objects.filter(pk__in=ends).values_list("framework_id", flat=True)))
    list(Framework.objects.select_for_update().filter(id__in=framework_ids).order_by("id"))
    requires: dict[int, set[int]] = defaultdict(set)
    for competency, prerequisite in Prerequisite.objects.values_list("competency_id", "prerequisite_id"):
        requires[competency].add(prerequisite)
    fresh = []
    for prerequisite, competency, where in pairs:
        if prerequisite in requires[competency]:
            continue
        trail = [prerequisite] if prerequisite == competency else None
        trail = trail or _requires_path(requires, start=prerequisite, target=competency)
        if trail:
            raise _cycle_problem(prerequisite, competency, trail, where)
        requires[competency].add(prerequisite)
        fresh.append(Prerequisite(competency_id=competency, prerequisite_id=prerequisite))
    Prerequisite.objects.bulk_create(fresh, batch_size=1000)
    report.prerequisites_created += len(fresh)


def _apply_precedes(
    package: CasePackage, framework: Framework, pk_of: dict[str, int], report: CaseImportReport
) -> None:
    """A precedes B: A is a prerequisite of B. An end in no loaded framework leaves the association waiting."""
    precedes = package.associations_of(PRECEDES)
    ends = {node for assoc in precedes for node in (assoc.origin.identifier, assoc.destination.identifier)}
    known = {**_known_competencies(ends - set(pk_of)), **pk_of}
    pairs, waiting = [], []
    for assoc in precedes:
        origin, destination = known.get(assoc.origin.identifier), known.get(assoc.destination.identifier)
        if origin is not None and destination is not None:
            pairs.append((origin, destination, CaseProblem("", assoc.path, "", assoc.identifier)))
        else:
            waiting.append(assoc)
    _add_edges(pairs, report)
    _sync_waiting(framework, waiting, report)


def _sync_waiting(framework: Framework, waiting: list[CaseAssociation], report: CaseImportReport) -> None:
    wanted = {
        assoc.identifier: {
            "framework_id": framework.pk,
            "association_type": assoc.association_type,
            "origin_identifier": assoc.origin.identifier,
            "origin_uri": assoc.origin.uri,
            "destination_identifier": assoc.destination.identifier,
            "destination_uri": assoc.destination.uri,
        }
        for assoc in waiting
    }
    stored = {
        row.association_identifier: row
        for row in UnresolvedAssociation.objects.filter(Q(framework=framework) | Q(association_identifier__in=wanted))
    }
    gone = [row.pk for identifier, row in stored.items() if identifier not in wanted]
    if gone:
        UnresolvedAssociation.objects.filter(pk__in=gone).delete()
    fresh, changed = [], []
    for identifier, values in wanted.items():
        row = stored.get(identifier)
        if row is None:
            fresh.append(UnresolvedAssociation(association_identifier=identifier, **values))
        elif _assign(row, values):
            changed.append(row)
    if fresh:
        UnresolvedAssociation.objects.bulk_create(fresh)
    if changed:
        UnresolvedAssociation.objects.bulk_update(changed, list(next(iter(wanted.values()))))
    report.unresolved_stored = len(fresh) + len(changed)
    report.unresolved_deleted = len(gone)


def _resolve_waiting(package: CasePackage, framework: Framework, report: CaseImportReport) -> None:
    """Associations other frameworks left waiting for an item this package brings become edges now."""
    item_ids = package.item_ids()
    rows = list(
        UnresolvedAssociation.objects.filter(association_type=PRECEDES)
        .exclude(framework=framework)
        .filter(Q(origin_identifier__in=item_ids) | Q(destination_identifier__in=item_ids))
        .select_related("framework")
        .order_by("pk")
    )
    if not rows:
        return
    known = _known_competencies({node for row in rows for node in (row.origin_identifier, row.destination_identifier)})
    pairs, resolved = [], []
    for row in rows:
        origin, destination = known.get(row.origin_identifier), known.get(row.destination_identifier)
        if origin is None or destination is None:
            continue
        where = CaseProblem(
            "", f"waiting association of the framework “{row.framework.name}”", "", row.association_identifier
        )
        pairs.append((origin, destination, where))
        resolved.append(row.pk)
    _add_edges(pairs, report)
    if resolved:
        UnresolvedAssociation.objects.filter(pk__in=resolved).delete()
    report.unresolved_resolved = len(resolved)
