"""Pure domain logic of learning paths: school days, path order, pacing and alert conditions.

No ORM here: plain values in, plain values out, so every rule is unit-tested fast
(tests/pathways/test_rules.py). The numbers come from settings.PLPLATFORM through `PathSettings`.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# --- school days ------------------------------------------------------------------------------------


def _weekdays_through(day: datetime.date) -> int:
    """Weekdays from 0001-01-01 (a Monday) through `day`, counted in constant time."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


@dataclass(frozen=True)
class SchoolCalendar:
    """School days are weekdays minus holidays. Outside the term every weekday counts (used only to
    project a finish date beyond the term's end)."""

    start: datetime.date
    end: datetime.date
    holidays: tuple[datetime.date, ...] = ()  # sorted weekday holidays

    @classmethod
    def of(cls, start: datetime.date, end: datetime.date, holidays: Iterable[datetime.date]) -> SchoolCalendar:
        return cls(start, end, tuple(sorted({day for day in holidays if day.weekday() < 5})))

    def is_school_day(self, day: datetime.date) -> bool:
        return day.weekday() < 5 and not self._is_holiday(day)

    def _is_holiday(self, day: datetime.date) -> bool:
        at = bisect.bisect_left(self.holidays, day)
        return at < len(self.holidays) and self.holidays[at] == day

    def _through(self, day: datetime.date) -> int:
        return _weekdays_through(day) - bisect.bisect_right(self.holidays, day)

    def days_between(self, first: datetime.date, last: datetime.date) -> int:
        """School days d with first < d <= last (negative when last comes before first)."""
        return self._through(last) - self._through(first)

    def on_or_before(self, day: datetime.date) -> datetime.date:
        """The last school day on or before `day`."""
        while not self.is_school_day(day):
            day -= datetime.timedelta(days=1)
        return day

    def previous(self, day: datetime.date) -> datetime.date:
        """The last school day before `day`."""
        return self.on_or_before(day - datetime.timedelta(days=1))

    def add(self, day: datetime.date, school_days: int) -> datetime.date:
        """The school day `school_days` school days after `day` (`day` itself when 0)."""
        if school_days <= 0:
            return day
        left = school_days
        while left > 0:
            # A week holds at most 5 school days, so jumping left // 5 weeks never overshoots.
            step = datetime.timedelta(days=7 * (left // 5) if left >= 5 else 1)
            left -= self.days_between(day, day + step)
            day += step
        return self.on_or_before(day)

    def window_start(self, day: datetime.date, school_days: int) -> datetime.date:
        """The first day of the last `school_days` school days ending on `day` (inclusive window)."""
        first = day
        counted = 1 if self.is_school_day(day) else 0
        while counted < school_days:
            first -= datetime.timedelta(days=1)
            if self.is_school_day(first):
                counted += 1
        return first


# --- path order ---------------------------------------------------------------------------------------

GRADE_LEVEL_TARGET = "grade_level_target"
GAP_FILLING = "gap_filling"
TEACHER_ADDED = "teacher_added"


def ancestors_of(prerequisites: Mapping[int, Iterable[int]]) -> Callable[[int], frozenset[int]]:
    """A memoized function: every competency reachable by following prerequisite edges (transitively)."""
    memo: dict[int, frozenset[int]] = {}

    def ancestors(node: int) -> frozenset[int]:
        known = memo.get(node)
        if known is not None:
            return known
        # Iterative post-order walk: deep chains must not hit the recursion limit.
        stack: list[tuple[int, bool]] = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            if current in memo:
                continue
            parents = tuple(prerequisites.get(current, ()))
            if expanded:
                found: set[int] = set()
                for parent in parents:
                    found.add(parent)
                    found |= memo[parent]
                memo[current] = frozenset(found)
            else:
                stack.append((current, True))
                stack.extend((parent, False) for parent in parents if parent not in memo)
        return memo[node]

    return ancestors


def needed_prerequisites(
    goals: Iterable[int], *, mastered: set[int] | frozenset[int], prerequisites: Mapping[int, Iterable[int]]
) -> set[int]:
    """The unmastered competencies the goals need first: walk up from each goal through unmastered
    prerequisites; a mastered prerequisite stops the walk (what it needed was learned with it)."""
    needed: set[int] = set()
    stack = list(goals)
    while stack:
        node = stack.pop()
        for parent in prerequisites.get(node, ()):
            if parent not in mastered and parent not in needed:
                needed.add(parent)
                stack.append(parent)
    return needed


@dataclass(frozen=True)
class PlannedStep:
    competency_id: int
    reason: str  # GRADE_LEVEL_TARGET, GAP_FILLING or TEACHER_ADDED


def order_path(
    *,
    targets: Iterable[int],
    mastered: set[int] | frozenset[int],
    prerequisites: Mapping[int, Iterable[int]],
    sort_key: Callable[[int], Any],
    added: Iterable[int] = (),
) -> list[PlannedStep]:
    """The steps of a path in order: the targets, the teacher's additions and the unmastered
    prerequisites they need (gap-filling), never a step before any of its ancestors.

    Grade-level work first, as soon as the graph allows: repeatedly take the target with the fewest
    gap-filling ancestors not yet placed (then fewest ancestors of any kind, then `sort_key`), place
    those ancestors in topological order, then the target. So the first target placed needs the fewest
    gap-filling steps of all, and a target whose prerequisites are met is placed at once (it has none
    left). Teacher additions come after the targets, placed the same way. Deterministic.
    """
    goals = list(dict.fromkeys(targets))
    target_set = set(goals)
    extra = [c for c in dict.fromkeys(added) if c not in target_set]
    gap = needed_prerequisites(goals + extra, mastered=mastered, prerequisites=prerequisites)
    gap -= target_set | set(extra)
    nodes = target_set | set(extra) | gap
    ancestors = ancestors_of(prerequisites)
    within = {node: ancestors(node) & nodes for node in nodes}

    placed: list[PlannedStep] = []
    done: set[int] = set()

    def reason(node: int) -> str:
        if node in target_set:
            return GRADE_LEVEL_TARGET
        return TEACHER_ADDED if node not in gap else GAP_FILLING

    def place(goal: int) -> None:
        # Ancestors first: fewer ancestors means earlier in any topological order (a strict ancestor
        # has a strict subset of them), so this sort is a topological order.
        block = sorted(within[goal] - done, key=lambda n: (len(within[n]), sort_key(n)))
        for node in [*block, goal]:
            placed.append(PlannedStep(node, reason(node)))
            done.add(node)

    for group in (goals, extra):
        waiting = set(group)
        while waiting - done:
            best = min(
                waiting - done,
                key=lambda g: (len((within[g] & gap) - done), len(within[g] - done), sort_key(g)),
            )
            place(best)
    return placed


def order_violations(order: Sequence[int], prerequisites: Mapping[int, Iterable[int]]) -> list[tuple[int, int]]:
    """(step, ancestor) pairs where a step of `order` comes before one of its ancestors (through the whole
    prerequisite graph). Empty when the order is valid."""
    ancestors = ancestors_of(prerequisites)
    position = {node: index for index, node in enumerate(order)}
    return [
        (node, ancestor)
        for index, node in enumerate(order)
        for ancestor in sorted(ancestors(node))
        if position.get(ancestor, -1) > index
    ]


def stable_topological(order: Sequence[int], prerequisites: Mapping[int, Iterable[int]]) -> list[int]:
    """The same steps in a valid order that keeps `order` wherever the graph allows: each time, the
    earliest step (by its place in `order`) none of whose ancestors among the steps is still waiting."""
    ancestors = ancestors_of(prerequisites)
    members = set(order)
    waiting_for = {node: set(ancestors(node)) & members for node in order}
    result: list[int] = []
    placed: set[int] = set()
    while len(result) < len(order):
        node = next(n for n in order if n not in placed and waiting_for[n] <= placed)
        result.append(node)
        placed.add(node)
    return result


def fewest_gap_steps_before_a_target(
    *, targets: Iterable[int], gap: Iterable[int], prerequisites: Mapping[int, Iterable[int]]
) -> int | None:
    """The fewest gap-filling steps any valid order can put before its first target: the smallest number
    of gap-filling ancestors of a target. None without targets."""
    ancestors = ancestors_of(prerequisites)
    gap_set = set(gap)
    counts = [len(ancestors(target) & gap_set) for target in targets]
    return min(counts) if counts else None


def gap_steps_before_first_target(steps: Sequence[tuple[int, str]]) -> int | None:
    """How many gap-filling steps come before the first grade-level target of (competency, reason) steps."""
    gaps = 0
    for _, reason in steps:
        if reason == GRADE_LEVEL_TARGET:
            return gaps
        if reason == GAP_FILLING:
            gaps += 1
    return None


# --- settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathSettings:
    velocity_window: int = 20
    ahead_share: float = 0.10
    at_risk_days: int = 10
    confirm_nights: int = 2
    stuck_days: int = 10
    stuck_min_evidence: int = 3
    stuck_scored_responses: int = 10
    inactive_days: int = 10
    held_back_days: int = 20
    avoiding_records: int = 10
    avoiding_min: int = 7

    @classmethod
    def from_settings(cls, platform: Mapping[str, Any]) -> PathSettings:
        return cls(
            velocity_window=int(platform["PACING_VELOCITY_WINDOW_DAYS"]),
            ahead_share=float(platform["PACING_AHEAD_SHARE"]),
            at_risk_days=int(platform["PACING_AT_RISK_DAYS"]),
            confirm_nights=int(platform["ALERT_CONFIRM_NIGHTS"]),
            stuck_days=int(platform["ALERT_STUCK_DAYS"]),
            stuck_min_evidence=int(platform["ALERT_STUCK_MIN_EVIDENCE"]),
            stuck_scored_responses=int(platform["ALERT_STUCK_SCORED_RESPONSES"]),
            inactive_days=int(platform["ALERT_INACTIVE_DAYS"]),
            held_back_days=int(platform["ALERT_HELD_BACK_DAYS"]),
            avoiding_records=int(platform["ALERT_AVOIDING_RECORDS"]),
            avoiding_min=int(platform["ALERT_AVOIDING_MIN"]),
        )


# --- pacing ------------------------------------------------------------------------------------------

AHEAD, ON_TRACK, AT_RISK, OFF_TRACK = "ahead", "on_track", "at_risk", "off_track"
# Floating-point slack for "A >= E + share" and ceil(E - A): E is a ratio of whole numbers.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Pacing:
    """The pacing figures of one path on one school day (DESIGN.md section 4), all stored."""

    on: datetime.date  # t
    start_date: datetime.date  # S
    target_date: datetime.date  # D
    target_count: int  # |T|
    mastered_at_start: int  # A0
    mastered: int  # A(t)
    school_days_elapsed: int  # t - S, in school days, within [0, D - S]
    school_days_total: int  # D - S
    expected: float  # E(t)
    window_days: int  # 20
    mastered_in_window: int
    velocity: float  # v = mastered_in_window / window_days
    school_days_to_finish: int | None  # ceil((|T| - A) / v); 0 when done; None when v = 0 with work left
    projected_finish: datetime.date | None
    school_days_late: int | None  # school days from D to the projected finish (negative: early)
    behind: int  # max(0, ceil(E - A))
    status: str

    def as_numbers(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings."""
        numbers = asdict(self)
        for key, value in numbers.items():
            if isinstance(value, datetime.date):
                numbers[key] = value.isoformat()
        return numbers


def pacing(
    *,
    calendar: SchoolCalendar,
    on: datetime.date,
    start_date: datetime.date,
    target_date: datetime.date,
    target_count: int,
    mastered_at_start: int,
    mastered: int,
    mastered_in_window: int,
    settings: PathSettings,
) -> Pacing:
    """E(t) = A0 + (|T| - A0)(t - S)/(D - S); v = mastered in the window / window; projected finish =
    t + (|T| - A)/v; status ahead (A >= E + share of |T|), on_track (finish <= D), at_risk (<= D + days),
    off_track (later, or v = 0 with work left)."""
    total = max(calendar.days_between(start_date, target_date), 0)
    elapsed = min(max(calendar.days_between(start_date, on), 0), total)
    share = elapsed / total if total else 1.0
    expected = mastered_at_start + (target_count - mastered_at_start) * share
    velocity = mastered_in_window / settings.velocity_window
    remaining = max(target_count - mastered, 0)
    if remaining == 0:
        to_finish: int | None = 0
    elif velocity > 0:
        to_finish = math.ceil(remaining / velocity - _EPSILON)
    else:
        to_finish = None
    finish = calendar.add(on, to_finish) if to_finish is not None else None
    late = calendar.days_between(target_date, finish) if finish is not None else None
    status = pacing_status(
        mastered=mastered,
        expected=expected,
        target_count=target_count,
        school_days_late=late,
        settings=settings,
    )
    return Pacing(
        on=on,
        start_date=start_date,
        target_date=target_date,
        target_count=target_count,
        mastered_at_start=mastered_at_start,
        mastered=mastered,
        school_days_elapsed=elapsed,
        school_days_total=total,
        expected=expected,
        window_days=settings.velocity_window,
        mastered_in_window=mastered_in_window,
        velocity=velocity,
        school_days_to_finish=to_finish,
        projected_finish=finish,
        school_days_late=late,
        behind=max(0, math.ceil(expected - mastered - _EPSILON)),
        status=status,
    )


def pacing_status(
    *, mastered: int, expected: float, target_count: int, school_days_late: int | None, settings: PathSettings
) -> str:
    """`school_days_late` None means v = 0 with work left."""
    if mastered >= expected + settings.ahead_share * target_count - _EPSILON:
        return AHEAD
    if school_days_late is None:
        return OFF_TRACK
    if school_days_late <= 0:
        return ON_TRACK
    if school_days_late <= settings.at_risk_days:
        return AT_RISK
    return OFF_TRACK


def day_month(day: datetime.date, *, year_of: datetime.date | None = None) -> str:
    """ "12 June", with the year when it differs from `year_of`'s."""
    text = f"{day.day} {day:%B}"
    return text if year_of is None or year_of.year == day.year else f"{text} {day.year}"


def pacing_sentence(figures: Pacing, *, goals: str, who: str = "you") -> str:
    """The pacing in words, e.g. "At this pace you finish the grade 6 goals around 12 June; the target
    is 5 June." `who` is "you" for the student, a name for a teacher."""
    target = day_month(figures.target_date)
    finish_verb = "finish" if who == "you" else "finishes"
    if figures.target_count == 0:
        return f"There are no {goals} to reach."
    if figures.mastered >= figures.target_count:
        have = "have" if who == "you" else "has"
        return f"{who.capitalize() if who == 'you' else who} {have} mastered all {figures.target_count} of {goals}."
    if figures.projected_finish is None:
        subject = who.capitalize() if who == "you" else who
        return (
            f"{subject} mastered none of {goals} in the last {figures.window_days} school days, so there is no "
            f"pace yet to project a finish from; the target is {target}."
        )
    finish = day_month(figures.projected_finish, year_of=figures.target_date)
    return f"At this pace {who} {finish_verb} {goals} around {finish}; the target is {target}."


def behind_words(figures: Pacing) -> str:
    if figures.behind == 0:
        return "not behind"
    return f"{figures.behind} {'competency' if figures.behind == 1 else 'competencies'} behind"


# --- alert conditions ----------------------------------------------------------------------------------

BEHIND_PACE, STUCK, INACTIVE, HELD_BACK, AVOIDING, NEEDS_REVIEW = (
    "behind_pace",
    "stuck",
    "inactive",
    "held_back",
    "avoiding",
    "needs_review",
)
LOW, MEDIUM, HIGH = 1, 2, 3


@dataclass(frozen=True)
class Condition:
    """One alert condition that holds tonight, with the numbers that raise it and the reason in words."""

    kind: str
    path_id: int | None
    competency_id: int | None
    severity: int
    numbers: dict[str, Any]
    reason: str

    @property
    def key(self) -> tuple[str, int | None, int | None]:
        return (self.kind, self.path_id, self.competency_id)


def _plural(count: int | float, word: str, plural: str | None = None) -> str:
    return f"{count:g} {word if count == 1 else plural or word + 's'}"


def behind_pace_condition(figures: Pacing, *, path_id: int, goals: str) -> Condition | None:
    if figures.status not in (AT_RISK, OFF_TRACK):
        return None
    if figures.projected_finish is None:
        pace = f"mastered none in the last {figures.window_days} school days"
    else:
        pace = (
            f"at the pace of the last {figures.window_days} school days finishes around "
            f"{day_month(figures.projected_finish, year_of=figures.target_date)}, "
            f"{_plural(figures.school_days_late or 0, 'school day')} after the target of "
            f"{day_month(figures.target_date)}"
        )
    reason = (
        f"{figures.status.replace('_', ' ').capitalize()}: mastered {figures.mastered} of {goals} "
        f"({figures.target_count} in all) where {figures.expected:.1f} were expected by now "
        f"({behind_words(figures)}); {pace}."
    )
    severity = HIGH if figures.status == OFF_TRACK else MEDIUM
    return Condition(BEHIND_PACE, path_id, None, severity, figures.as_numbers(), reason)


def stuck_condition(
    *,
    path_id: int,
    competency_id: int,
    code: str,
    first_evidence_on: datetime.date,
    school_days_in_progress: int,
    evidence_count: int,
    scored_responses: int,
    settings: PathSettings,
) -> Condition | None:
    """In progress >= 10 school days with >= 3 evidence and no mastery, or >= 10 scored responses
    without mastery (the caller passes unmastered competencies only)."""
    long_effort = school_days_in_progress >= settings.stuck_days and evidence_count >= settings.stuck_min_evidence
    many_tries = scored_responses >= settings.stuck_scored_responses
    if not (long_effort or many_tries):
        return None
    numbers = {
        "first_evidence_on": first_evidence_on.isoformat(),
        "school_days_in_progress": school_days_in_progress,
        "evidence_count": evidence_count,
        "scored_responses": scored_responses,
        "mastered": False,
    }
    reason = (
        f"Working on {code} for {_plural(school_days_in_progress, 'school day')} "
        f"({_plural(evidence_count, 'piece')} of evidence, {_plural(scored_responses, 'scored response')}) "
        "without mastering it."
    )
    return Condition(STUCK, path_id, competency_id, MEDIUM, numbers, reason)


def inactive_condition(
    *,
    path_id: int,
    last_evidence_on: datetime.date | None,
    school_days_without_evidence: int,
    settings: PathSettings,
) -> Condition | None:
    if school_days_without_evidence < settings.inactive_days:
        return None
    numbers = {
        "last_evidence_on": last_evidence_on.isoformat() if last_evidence_on else None,
        "school_days_without_evidence": school_days_without_evidence,
    }
    since = f"since {day_month(last_evidence_on)}" if last_evidence_on else "since the path started"
    reason = f"No evidence for {_plural(school_days_without_evidence, 'school day')} ({since})."
    return Condition(INACTIVE, path_id, None, MEDIUM, numbers, reason)


def held_back_condition(
    *,
    path_id: int,
    grade: int,
    unmastered_below_grade: int,
    grade_level_evidence_in_window: int,
    grade_level_steps_active: int,
    school_days_since_start: int,
    settings: PathSettings,
) -> Condition | None:
    """Unmastered below-grade competencies and no grade-level evidence or active grade-level step in the
    last 20 school days (only once the path has run that long)."""
    if (
        unmastered_below_grade == 0
        or grade_level_evidence_in_window > 0
        or grade_level_steps_active > 0
        or school_days_since_start < settings.held_back_days
    ):
        return None
    numbers = {
        "grade": grade,
        "unmastered_below_grade": unmastered_below_grade,
        "grade_level_evidence_in_window": grade_level_evidence_in_window,
        "grade_level_steps_active": grade_level_steps_active,
        "window_days": settings.held_back_days,
        "school_days_since_start": school_days_since_start,
    }
    reason = (
        f"{_plural(unmastered_below_grade, 'below-grade competency', 'below-grade competencies')} to fill, and no "
        f"grade {grade} evidence or active grade {grade} step in the last {settings.held_back_days} school days."
    )
    return Condition(HELD_BACK, path_id, None, HIGH, numbers, reason)


def avoiding_condition(
    *, path_id: int, on_mastered: int, on_easiest: int, records: int, ready_waiting: int, settings: PathSettings
) -> Condition | None:
    """Over the last 10 evidence records, at least 7 on already-mastered competencies or the easiest
    options (below grade and not needed by the path) while ready competencies wait."""
    avoiding = on_mastered + on_easiest
    if records < settings.avoiding_records or avoiding < settings.avoiding_min or ready_waiting == 0:
        return None
    numbers = {
        "records": records,
        "on_mastered": on_mastered,
        "on_easiest": on_easiest,
        "avoiding_records": avoiding,
        "ready_waiting": ready_waiting,
    }
    reason = (
        f"{avoiding} of the last {records} evidence records were on competencies already mastered ({on_mastered}) "
        f"or below grade and not needed ({on_easiest}) while {_plural(ready_waiting, 'ready step')} wait."
    )
    return Condition(AVOIDING, path_id, None, LOW, numbers, reason)


def needs_review_condition(
    *, path_id: int, competency_id: int, code: str, estimate: float | None, first_mastered_on: datetime.date | None
) -> Condition:
    numbers = {
        "status": NEEDS_REVIEW,
        "estimate": estimate,
        "first_mastered_on": first_mastered_on.isoformat() if first_mastered_on else None,
    }
    when = f" (mastered on {day_month(first_mastered_on)})" if first_mastered_on else ""
    reason = f"{code} was mastered{when}, but later evidence fell below the retention threshold."
    return Condition(NEEDS_REVIEW, path_id, competency_id, LOW, numbers, reason)


# What a student may read about their own alert: encouraging, no numbers about others, no labels.
STUDENT_WORDING: dict[str, str] = {
    BEHIND_PACE: "You are a little behind the pace for your goals. Your teacher will help you plan the next steps.",
    STUCK: "This one is taking a while. Ask your teacher for a different way in.",
    INACTIVE: "We have not seen your work for a while. Pick up where you left off.",
    HELD_BACK: "You are ready to try some of your grade-level goals. Your teacher will help you get started.",
    AVOIDING: "Try one of the new steps that are ready for you.",
    NEEDS_REVIEW: "A competency you mastered earlier needs a quick review.",
}


# --- the two-nights rule -----------------------------------------------------------------------------

KEEP, OPEN, RESOLVE, FORGET = "keep", "open", "resolve", "forget"


@dataclass(frozen=True)
class Memory:
    """What the nightly run remembers of one condition."""

    holding: bool
    streak: int
    evaluated_on: datetime.date
    alert_unresolved: bool  # an alert raised for this condition is still open or acknowledged
    alert_linked: bool = False  # an alert was raised for this episode (even if a teacher resolved it)


def next_memory(
    previous: Memory | None,
    *,
    holding: bool,
    on: datetime.date,
    previous_school_day: datetime.date,
    confirm_nights: int,
) -> tuple[Memory | None, str]:
    """The memory after tonight and what to do: KEEP (store the memory), OPEN an alert, RESOLVE the alert,
    or FORGET (delete the memory). A night already evaluated (or an older one) changes nothing."""
    if previous is not None and previous.evaluated_on >= on:
        return previous, KEEP
    if previous is None and not holding:
        return None, FORGET
    consecutive = previous is not None and previous.evaluated_on == previous_school_day
    same = previous is not None and previous.holding == holding
    streak = previous.streak + 1 if consecutive and same and previous is not None else 1
    linked = previous.alert_linked if previous is not None else False
    unresolved = previous.alert_unresolved if previous is not None else False
    if holding:
        if streak >= confirm_nights and not linked:
            return Memory(True, streak, on, True, True), OPEN
        return Memory(True, streak, on, unresolved, linked), KEEP
    if not unresolved:
        return None, FORGET  # cleared, and no alert waits to be resolved
    if streak >= confirm_nights:
        return None, RESOLVE
    return Memory(False, streak, on, unresolved, linked), KEEP


def key_sort(key: tuple[Hashable, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)
