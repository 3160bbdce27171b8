"""pathways.rules: school days, path order, pacing and alert conditions. Pure: no database."""

from __future__ import annotations

import datetime
import random

import pytest

from pathways import rules
from pathways.rules import GAP_FILLING, GRADE_LEVEL_TARGET, SchoolCalendar

D = datetime.date
SETTINGS = rules.PathSettings()

# Two weeks of November 2026 (Mon 2 .. Fri 13) with Veterans Day (Wed 11) off.
NOVEMBER = SchoolCalendar.of(D(2026, 8, 24), D(2027, 6, 11), [D(2026, 11, 11), D(2026, 11, 14)])  # 14th: a Saturday


# --- school days -------------------------------------------------------------------------------------


def test_school_days_are_weekdays_minus_holidays():
    assert NOVEMBER.holidays == (D(2026, 11, 11),)  # a Saturday holiday changes nothing
    assert NOVEMBER.is_school_day(D(2026, 11, 10))
    assert not NOVEMBER.is_school_day(D(2026, 11, 11))
    assert not NOVEMBER.is_school_day(D(2026, 11, 7))
    # (Mon 2, Fri 13]: 3-6, 9, 10, 12, 13 -> 8 days
    assert NOVEMBER.days_between(D(2026, 11, 2), D(2026, 11, 13)) == 8
    assert NOVEMBER.days_between(D(2026, 11, 13), D(2026, 11, 2)) == -8
    assert NOVEMBER.days_between(D(2026, 11, 6), D(2026, 11, 8)) == 0


def test_stepping_through_school_days():
    assert NOVEMBER.on_or_before(D(2026, 11, 8)) == D(2026, 11, 6)
    assert NOVEMBER.on_or_before(D(2026, 11, 11)) == D(2026, 11, 10)
    assert NOVEMBER.previous(D(2026, 11, 12)) == D(2026, 11, 10)
    assert NOVEMBER.previous(D(2026, 11, 9)) == D(2026, 11, 6)
    assert NOVEMBER.add(D(2026, 11, 10), 0) == D(2026, 11, 10)
    assert NOVEMBER.add(D(2026, 11, 10), 1) == D(2026, 11, 12)
    assert NOVEMBER.add(D(2026, 11, 6), 8) == D(2026, 11, 19)  # 9, 10, 12, 13, 16-19
    assert NOVEMBER.window_start(D(2026, 11, 13), 5) == D(2026, 11, 6)


def test_adding_school_days_agrees_with_counting_them():
    calendar = SchoolCalendar.of(D(2026, 8, 24), D(2027, 6, 11), [D(2026, 11, 26), D(2026, 11, 27), D(2026, 12, 25)])
    start = D(2026, 11, 2)
    for n in range(0, 130):
        day = calendar.add(start, n)
        assert calendar.is_school_day(day)
        assert calendar.days_between(start, day) == n


# --- path order --------------------------------------------------------------------------------------


def random_dag(rng: random.Random, n: int) -> dict[int, set[int]]:
    """Edges only from lower to higher numbers: a DAG. prerequisites[node] = its direct prerequisites."""
    graph: dict[int, set[int]] = {node: set() for node in range(n)}
    for node in range(n):
        for earlier in range(node):
            if rng.random() < 0.35:
                graph[node].add(earlier)
    return graph


def linear_extensions(nodes: set[int], must_precede: dict[int, set[int]]):
    """Every order of `nodes` in which each node comes after all of its ancestors within `nodes`."""
    if not nodes:
        yield []
        return
    for node in sorted(nodes):
        if not (must_precede[node] & nodes):
            for rest in linear_extensions(nodes - {node}, must_precede):
                yield [node, *rest]


def test_the_first_target_comes_after_the_fewest_gap_steps_on_random_dags():
    rng = random.Random(20261126)
    checked = 0
    for _ in range(400):
        n = rng.randint(2, 8)
        graph = random_dag(rng, n)
        nodes = list(range(n))
        targets = set(rng.sample(nodes, rng.randint(1, max(1, n // 2))))
        mastered = {node for node in nodes if node not in targets and rng.random() < 0.3}
        if rng.random() < 0.2:  # now and then a target is mastered already
            mastered.add(rng.choice(sorted(targets)))

        steps = rules.order_path(targets=targets, mastered=mastered, prerequisites=graph, sort_key=lambda c: c)

        order = [step.competency_id for step in steps]
        gap = {step.competency_id for step in steps if step.reason == GAP_FILLING}
        assert len(order) == len(set(order))
        assert {s.competency_id for s in steps if s.reason == GRADE_LEVEL_TARGET} == targets
        assert gap == rules.needed_prerequisites(targets, mastered=mastered, prerequisites=graph) - targets
        assert not gap & mastered
        assert rules.order_violations(order, graph) == []

        # Brute force: the fewest gap steps before the first target over every valid order of these steps.
        ancestors = rules.ancestors_of(graph)
        in_path = set(order)
        must_precede = {node: set(ancestors(node)) for node in in_path}
        best = min(
            rules.gap_steps_before_first_target([(c, GAP_FILLING if c in gap else GRADE_LEVEL_TARGET) for c in ext])
            or 0
            for ext in linear_extensions(in_path, must_precede)
        )
        reasons = [(step.competency_id, step.reason) for step in steps]
        assert rules.gap_steps_before_first_target(reasons) == best
        assert rules.fewest_gap_steps_before_a_target(targets=targets, gap=gap, prerequisites=graph) == best
        checked += 1
    assert checked == 400


def test_targets_whose_prerequisites_are_met_come_first_and_ties_follow_the_sort_key():
    # 1 <- 10 (gap), 2 <- 10, 3 (no prerequisites), 4 <- 11 <- 12 (gap chain); 5 mastered prerequisite of 6.
    graph = {1: {10}, 2: {10}, 3: set(), 4: {11}, 11: {12}, 6: {5}, 10: set(), 12: set(), 5: set()}
    steps = rules.order_path(targets=[4, 2, 1, 3, 6], mastered={5}, prerequisites=graph, sort_key=lambda c: c)
    assert [(s.competency_id, s.reason) for s in steps] == [
        (3, GRADE_LEVEL_TARGET),
        (6, GRADE_LEVEL_TARGET),
        (10, GAP_FILLING),
        (1, GRADE_LEVEL_TARGET),
        (2, GRADE_LEVEL_TARGET),
        (12, GAP_FILLING),
        (11, GAP_FILLING),
        (4, GRADE_LEVEL_TARGET),
    ]


def test_a_mastered_prerequisite_stops_the_walk_and_teacher_additions_come_after_the_targets():
    # 3 <- 2 (mastered) <- 1: 1 is not needed. 7 added by the teacher needs 8.
    graph = {3: {2}, 2: {1}, 7: {8}}
    steps = rules.order_path(targets=[3], mastered={2}, prerequisites=graph, sort_key=lambda c: c, added=[7])
    assert [(s.competency_id, s.reason) for s in steps] == [
        (3, GRADE_LEVEL_TARGET),
        (8, GAP_FILLING),
        (7, rules.TEACHER_ADDED),
    ]


def test_order_violations_name_the_step_and_its_later_ancestor():
    graph = {3: {2}, 2: {1}}
    assert rules.order_violations([1, 2, 3], graph) == []
    assert rules.order_violations([3, 1, 2], graph) == [(3, 1), (3, 2)]
    assert rules.order_violations([1, 3, 2], graph) == [(3, 2)]


# --- pacing ------------------------------------------------------------------------------------------

TERM = SchoolCalendar.of(D(2026, 8, 24), D(2027, 6, 11), [D(2026, 9, 7)])


def count_school_days(first: D, last: D) -> int:
    """School days in (first, last] of TERM, counted one day at a time (independent of the calendar maths)."""
    days = (first + datetime.timedelta(days=n) for n in range(1, (last - first).days + 1))
    return sum(1 for day in days if day.weekday() < 5 and day != D(2026, 9, 7))


def figures(on: D, *, target_count=30, a0=2, mastered=10, window=4, **overrides) -> rules.Pacing:
    return rules.pacing(
        calendar=TERM,
        on=on,
        start_date=D(2026, 8, 24),
        target_date=overrides.pop("target_date", D(2026, 12, 18)),
        target_count=target_count,
        mastered_at_start=a0,
        mastered=mastered,
        mastered_in_window=window,
        settings=SETTINGS,
    )


def test_pacing_figures_follow_the_design_formulas():
    p = figures(D(2026, 10, 16))
    assert p.school_days_total == count_school_days(D(2026, 8, 24), D(2026, 12, 18)) == 83  # 84 weekdays - Labor Day
    assert p.school_days_elapsed == count_school_days(D(2026, 8, 24), D(2026, 10, 16)) == 38
    assert p.expected == 2 + 28 * 38 / 83  # 14.82
    assert p.velocity == 4 / 20
    assert p.school_days_to_finish == 100  # (30 - 10) / 0.2
    assert p.projected_finish == D(2027, 3, 5)  # 100 weekdays after Oct 16 (no holidays in TERM after Sept)
    assert p.school_days_late == count_school_days(D(2026, 12, 18), D(2027, 3, 5)) == 55
    assert p.behind == 5  # ceil(14.82 - 10)
    assert p.status == rules.OFF_TRACK


@pytest.mark.parametrize(
    ("mastered", "window", "status"),
    [
        (18, 0, rules.AHEAD),  # 18 >= 14.82 + 3, even without recent mastery
        (17, 0, rules.OFF_TRACK),  # v = 0 with work left
        (17, 20, rules.ON_TRACK),  # 13 left at 1 a day: 13 days, well before Dec 18 (45 days away)
        (10, 9, rules.ON_TRACK),  # 20 left at 0.45: 45 days, on the target date
        (10, 8, rules.AT_RISK),  # 20 left at 0.4: 50 days, 5 school days late
        (10, 7, rules.OFF_TRACK),  # 20 left at 0.35: 58 days, 13 school days late
        (30, 0, rules.AHEAD),
    ],
)
def test_pacing_status(mastered, window, status):
    assert figures(D(2026, 10, 16), mastered=mastered, window=window).status == status


def test_expected_is_clamped_to_the_path_and_done_means_finished_today():
    assert figures(D(2026, 8, 20)).expected == 2  # before the start: A0
    assert figures(D(2027, 1, 15)).expected == 30  # after the target date: |T|
    done = figures(D(2026, 10, 16), mastered=30, window=0)
    assert (done.school_days_to_finish, done.projected_finish, done.behind) == (0, D(2026, 10, 16), 0)


def test_pacing_in_words():
    p = figures(D(2026, 10, 16), mastered=10, window=8)
    assert rules.pacing_sentence(p, goals="the grade 6 goals") == (
        "At this pace you finish the grade 6 goals around 25 December; the target is 18 December."
    )
    assert rules.pacing_sentence(p, goals="the grade 6 goals", who="Mateo") == (
        "At this pace Mateo finishes the grade 6 goals around 25 December; the target is 18 December."
    )
    stalled = figures(D(2026, 10, 16), window=0)
    assert rules.pacing_sentence(stalled, goals="the grade 6 goals") == (
        "You mastered none of the grade 6 goals in the last 20 school days, so there is no pace yet to project a "
        "finish from; the target is 18 December."
    )
    assert rules.pacing_sentence(stalled, goals="the grade 6 goals", who="Mateo") == (
        "Mateo mastered none of the grade 6 goals in the last 20 school days, so there is no pace yet to project "
        "a finish from; the target is 18 December."
    )
    assert rules.behind_words(p) == "5 competencies behind"
    late = figures(D(2026, 12, 1), mastered=10, window=1, target_date=D(2027, 1, 8))
    finish = late.projected_finish
    assert finish is not None and finish.year == 2028
    assert rules.pacing_sentence(late, goals="the grade 6 goals") == (
        f"At this pace you finish the grade 6 goals around {finish.day} {finish:%B} 2028; the target is 8 January."
    )


# --- alert conditions and the two-nights rule -----------------------------------------------------------


def test_behind_pace_holds_for_at_risk_and_off_track_with_its_numbers():
    at_risk = figures(D(2026, 10, 16), mastered=10, window=8)
    condition = rules.behind_pace_condition(at_risk, path_id=7, goals="the grade 6 goals")
    assert condition is not None
    assert (condition.kind, condition.path_id, condition.competency_id, condition.severity) == (
        "behind_pace",
        7,
        None,
        rules.MEDIUM,
    )
    assert condition.numbers["status"] == "at_risk" and condition.numbers["school_days_late"] == 5
    assert condition.numbers["projected_finish"] == "2026-12-25"
    assert condition.reason == (
        "At risk: mastered 10 of the grade 6 goals (30 in all) where 14.8 were expected by now (5 competencies "
        "behind); at the pace of the last 20 school days finishes around 25 December, 5 school days after the "
        "target of 18 December."
    )
    assert rules.behind_pace_condition(figures(D(2026, 10, 16), mastered=18), path_id=7, goals="g") is None


def test_stuck_inactive_held_back_avoiding_thresholds():
    s = SETTINGS
    stuck = dict(path_id=1, competency_id=2, code="6.NS.1", first_evidence_on=D(2026, 10, 1), settings=s)
    assert rules.stuck_condition(**stuck, school_days_in_progress=10, evidence_count=3, scored_responses=3)
    assert not rules.stuck_condition(**stuck, school_days_in_progress=9, evidence_count=9, scored_responses=9)
    assert not rules.stuck_condition(**stuck, school_days_in_progress=10, evidence_count=2, scored_responses=2)
    assert rules.stuck_condition(**stuck, school_days_in_progress=2, evidence_count=10, scored_responses=10)

    assert rules.inactive_condition(path_id=1, last_evidence_on=None, school_days_without_evidence=10, settings=s)
    assert not rules.inactive_condition(
        path_id=1, last_evidence_on=D(2026, 11, 2), school_days_without_evidence=9, settings=s
    )

    held = dict(path_id=1, grade=6, grade_level_steps_active=0, school_days_since_start=20, settings=s)
    assert rules.held_back_condition(**held, unmastered_below_grade=2, grade_level_evidence_in_window=0)
    assert not rules.held_back_condition(**held, unmastered_below_grade=0, grade_level_evidence_in_window=0)
    assert not rules.held_back_condition(**held, unmastered_below_grade=2, grade_level_evidence_in_window=1)

    avoid = dict(path_id=1, records=10, settings=s)
    assert rules.avoiding_condition(**avoid, on_mastered=5, on_easiest=2, ready_waiting=1)
    assert not rules.avoiding_condition(**avoid, on_mastered=5, on_easiest=1, ready_waiting=1)
    assert not rules.avoiding_condition(**avoid, on_mastered=9, on_easiest=1, ready_waiting=0)


MON, TUE, WED, THU = D(2026, 11, 2), D(2026, 11, 3), D(2026, 11, 4), D(2026, 11, 5)


def night(previous, holding, on, before):
    return rules.next_memory(previous, holding=holding, on=on, previous_school_day=before, confirm_nights=2)


def test_an_alert_opens_on_the_second_consecutive_school_day_and_resolves_after_two_clear():
    first, action = night(None, True, MON, D(2026, 10, 30))
    assert action == rules.KEEP and first == rules.Memory(True, 1, MON, False, False)
    second, action = night(first, True, TUE, MON)
    assert action == rules.OPEN and second == rules.Memory(True, 2, TUE, True, True)
    assert night(second, True, TUE, MON) == (second, rules.KEEP)  # a rerun of the night: nothing
    third, action = night(second, True, WED, TUE)
    assert action == rules.KEEP and third == rules.Memory(True, 3, WED, True, True)
    cleared, action = night(third, False, THU, WED)
    assert action == rules.KEEP and cleared == rules.Memory(False, 1, THU, True, True)
    assert night(cleared, False, D(2026, 11, 6), THU) == (None, rules.RESOLVE)


def test_a_missed_night_restarts_the_count_and_a_cleared_condition_without_alert_is_forgotten():
    first, _ = night(None, True, MON, D(2026, 10, 30))
    after_gap, action = night(first, True, WED, TUE)  # Tuesday's night did not run
    assert action == rules.KEEP and after_gap.streak == 1
    assert night(after_gap, False, THU, WED) == (None, rules.FORGET)
    assert night(None, False, THU, WED) == (None, rules.FORGET)
