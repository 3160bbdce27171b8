"""Build a benchmark district in its own database: by default 50,000 students × 200 competencies
with 20,000,000 evidence rows, loaded with COPY.

    .venv/bin/python bench/generate_district.py                       # the full district (minutes)
    .venv/bin/python bench/generate_district.py --students 2000 --evidence 200000   # scaled down
    .venv/bin/python bench/generate_district.py --replace ...         # drop and rebuild the bench database

The database: --database-url, else $BENCH_DATABASE_URL, else a database named `plplatform_bench` on
the server of $DATABASE_URL, else `plplatform_bench` on the embedded server (.pgdata/). It is created
and migrated here; the project's own database is never touched.

Deterministic: the same options and --seed give the same rows (ids included, on a fresh database).
Everything is dated before AS_OF, so the nightly run sees it as history: `created_at` is an hour after
`observed_at`. The evidence follows a simple knowledge-tracing story per student × competency pair
(known from the start or learned at some step; right with probability 1 − slip when known, guess
otherwise), so mastery recomputes have realistic work to do.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import AS_OF, bench_database_url, database_name, raw_connection, recreate_database, setup_django

GRADES = range(3, 9)  # grades 3–8
STUDENTS_PER_SCHOOL = 2500
STUDENTS_PER_SECTION = 25
STRANDS = ("Number", "Algebra", "Geometry", "Data")
TERM_START = datetime.date(2026, 8, 24)
TERM_END = datetime.date(2027, 6, 11)
OBSERVATIONS_PER_PAIR = 10  # typical; the last pairs of a student take the remainder
SIMULATION = {"p_init": 0.2, "p_learn": 0.15, "p_guess": 0.2, "p_slip": 0.1}
KIND_SHARES = {"score": 0.80, "rating": 0.15, "completion": 0.05}
EVIDENCE_SOURCE = "bench-history"
CHUNK_STUDENTS = 2000  # students per evidence COPY chunk (memory stays small whatever the size)
PROGRESS_EVERY = 2_000_000  # evidence rows between progress lines


# --- the database -------------------------------------------------------------------------------


@contextlib.contextmanager
def without_indexes_and_foreign_keys(conn: Any, table: str) -> Iterator[None]:
    """Drop a table's secondary indexes and foreign keys for a bulk load, and rebuild them after.

    Rebuilding an index in one sort and validating a foreign key in one join are far faster than
    maintaining them row by row during the COPY.
    """
    indexes = conn.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = x.indrelid
           WHERE x.indrelid = %s::regclass AND NOT x.indisprimary""",
        [table],
    ).fetchall()
    foreign_keys = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    ).fetchall()
    for name, _ in foreign_keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for index_name, _, constraint_name, _ in indexes:
        if constraint_name:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint_name}"')
        else:
            conn.execute(f'DROP INDEX "{index_name}"')
    conn.commit()
    try:
        yield
    finally:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, index_def, constraint_name, constraint_def in indexes:
            if constraint_name:
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint_name}" {constraint_def}')
            else:
                conn.execute(index_def)
        for name, definition in foreign_keys:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.commit()


def copy_rows(conn: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(conn: Any, table: str, count: int) -> int:
    """The first of `count` consecutive ids of a table's sequence (this script is its only writer)."""
    sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
    first = conn.execute("SELECT nextval(%s)", [sequence]).fetchone()[0]
    conn.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return int(first)


# --- the district -------------------------------------------------------------------------------


def build_roster(conn: Any, students: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """District, schools, terms, sections, teachers, principals, an admin and the students."""
    now = AS_OF
    district_id = conn.execute(
        "INSERT INTO profiles_district (name, code, import_demographics) "
        "VALUES ('Bench District', 'bench', false) RETURNING id"
    ).fetchone()[0]
    n_schools = max(1, math.ceil(students / STUDENTS_PER_SCHOOL))
    school_ids = [
        conn.execute(
            "INSERT INTO profiles_school (district_id, name, code, grade_low, grade_high) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            [district_id, f"Bench School {n + 1:03d}", f"bench-{n + 1:03d}", GRADES[0], GRADES[-1]],
        ).fetchone()[0]
        for n in range(n_schools)
    ]
    term_ids = [
        conn.execute(
            "INSERT INTO profiles_term (school_id, name, kind, start_date, end_date) "
            "VALUES (%s, '2026-27', 'school_year', %s, %s) RETURNING id",
            [school_id, TERM_START, TERM_END],
        ).fetchone()[0]
        for school_id in school_ids
    ]

    # Students: school and grade round-robin; sections of 25 within (school, grade).
    student_index = np.arange(students)
    student_school = student_index % n_schools
    student_grade = GRADES[0] + (student_index // n_schools) % len(GRADES)
    order = np.lexsort((student_index, student_grade, student_school))
    section_of = np.empty(students, dtype=np.int64)
    sections: list[tuple[int, int, int]] = []  # (school index, grade, number within school and grade)
    numbers: dict[tuple[int, int], int] = {}
    position = 0
    while position < students:
        first = order[position]
        school, grade = int(student_school[first]), int(student_grade[first])
        members = 0
        number = numbers[school, grade] = numbers.get((school, grade), 0) + 1
        while (
            position < students
            and members < STUDENTS_PER_SECTION
            and student_school[order[position]] == school
            and student_grade[order[position]] == grade
        ):
            section_of[order[position]] = len(sections)
            position += 1
            members += 1
        sections.append((school, grade, number))

    n_staff = len(sections) + n_schools + 1  # a teacher per section, a principal per school, one admin
    first_user = reserve_ids(conn, "profiles_user", students + n_staff)
    student_user = first_user + student_index
    teacher_user = first_user + students + np.arange(len(sections))
    principal_user = first_user + students + len(sections) + np.arange(n_schools)
    admin_user = first_user + students + len(sections) + n_schools

    user_rows = []
    for n in range(students):
        user_rows.append((int(student_user[n]), f"bench-s{n + 1:06d}", "Student", f"{n + 1:06d}"))
    for n in range(len(sections)):
        user_rows.append((int(teacher_user[n]), f"bench-t{n + 1:05d}", "Teacher", f"{n + 1:05d}"))
    for n in range(n_schools):
        user_rows.append((int(principal_user[n]), f"bench-p{n + 1:03d}", "Principal", f"{n + 1:03d}"))
    user_rows.append((int(admin_user), "bench-admin", "District", "Admin"))
    copy_rows(
        conn,
        "profiles_user",
        [
            "id",
            "username",
            "first_name",
            "last_name",
            "password",
            "email",
            "is_superuser",
            "is_staff",
            "is_active",
            "date_joined",
        ],
        [(uid, name, first, last, "!", "", False, False, True, now) for uid, name, first, last in user_rows],
    )

    membership_rows = [
        (int(student_user[n]), "student", school_ids[student_school[n]], None, True) for n in range(students)
    ]
    membership_rows += [(int(teacher_user[n]), "teacher", school_ids[s[0]], None, True) for n, s in enumerate(sections)]
    membership_rows += [(int(principal_user[n]), "principal", school_ids[n], None, True) for n in range(n_schools)]
    membership_rows.append((int(admin_user), "district_admin", None, district_id, True))
    copy_rows(
        conn, "profiles_rolemembership", ["user_id", "role", "school_id", "district_id", "active"], membership_rows
    )

    first_section = reserve_ids(conn, "profiles_section", len(sections))
    copy_rows(
        conn,
        "profiles_section",
        ["id", "school_id", "term_id", "code", "name", "subject", "grade_level"],
        [
            (
                first_section + n,
                school_ids[school],
                term_ids[school],
                f"M{grade}-{number:02d}",
                f"Math {grade}-{number:02d}",
                "Mathematics",
                grade,
            )
            for n, (school, grade, number) in enumerate(sections)
        ],
    )
    enrollment_rows = [(first_section + n, int(teacher_user[n]), "teacher", True) for n in range(len(sections))]
    enrollment_rows += [
        (first_section + int(section_of[n]), int(student_user[n]), "student", True) for n in range(students)
    ]
    copy_rows(conn, "profiles_enrollment", ["section_id", "user_id", "role", "active"], enrollment_rows)
    empty: list[str] = []
    copy_rows(
        conn,
        "profiles_learnerprofile",
        [
            "user_id",
            "school_id",
            "grade_level",
            "strengths",
            "needs",
            "interests",
            "motivations",
            "accommodations",
            "notes",
            "updated_at",
        ],
        [
            (
                int(student_user[n]),
                school_ids[student_school[n]],
                int(student_grade[n]),
                empty,
                empty,
                empty,
                empty,
                empty,
                "",
                now,
            )
            for n in range(students)
        ],
    )
    conn.commit()
    return {
        "student_user": student_user,
        "student_grade": student_grade,
        "student_teacher": teacher_user[section_of],
        "school_ids": np.array(school_ids),
    }


def build_curriculum(conn: Any, competencies: int) -> dict[str, np.ndarray]:
    """One framework, grades 3–8: per grade four strands (grouping only) holding the competencies;
    prerequisites chain the competencies of a strand, and a strand's first one needs the same strand's
    last one a grade below. A BKT policy (version 1) with the default parameters."""
    framework_id = conn.execute(
        "INSERT INTO mastery_framework (name, subject, grade_low, grade_high, created_at) "
        "VALUES ('Bench Mathematics', 'Mathematics', %s, %s, %s) RETURNING id",
        [GRADES[0], GRADES[-1], AS_OF],
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO mastery_masterypolicy (framework_id, version, method, parameters, note, created_at) "
        "VALUES (%s, 1, 'bkt', '{}', 'Bench default policy', %s)",
        [framework_id, AS_OF],
    )
    per_grade = [competencies // len(GRADES) + (1 if g < competencies % len(GRADES) else 0) for g in range(len(GRADES))]
    n_strands = len(GRADES) * len(STRANDS)
    first = reserve_ids(conn, "mastery_competency", n_strands + competencies)
    rows: list[tuple[Any, ...]] = []
    competency_ids, competency_grade = [], []
    edges = []
    last_of_strand: dict[str, int] = {}
    next_id = first + n_strands
    for g, grade in enumerate(GRADES):
        for s, strand in enumerate(STRANDS):
            strand_id = first + g * len(STRANDS) + s
            rows.append(
                (strand_id, framework_id, None, f"{grade}.{strand[0]}", f"Grade {grade} {strand}", grade, s, False)
            )
        in_strand = [
            per_grade[g] // len(STRANDS) + (1 if s < per_grade[g] % len(STRANDS) else 0) for s in range(len(STRANDS))
        ]
        for s, strand in enumerate(STRANDS):
            previous = last_of_strand.get(strand)
            for k in range(in_strand[s]):
                cid = next_id
                next_id += 1
                rows.append(
                    (
                        cid,
                        framework_id,
                        first + g * len(STRANDS) + s,
                        f"{grade}.{strand[0]}.{k + 1}",
                        f"Grade {grade} {strand.lower()} competency {k + 1}",
                        grade,
                        k,
                        True,
                    )
                )
                competency_ids.append(cid)
                competency_grade.append(grade)
                if previous is not None:
                    edges.append((cid, previous))
                previous = cid
            if previous is not None:
                last_of_strand[strand] = previous
    copy_rows(
        conn,
        "mastery_competency",
        [
            "id",
            "framework_id",
            "parent_id",
            "code",
            "statement",
            "grade_level",
            "sort_order",
            "assessable",
        ],
        rows,
    )
    copy_rows(conn, "mastery_prerequisite", ["competency_id", "prerequisite_id"], edges)
    conn.commit()
    return {"competency_ids": np.array(competency_ids), "competency_grade": np.array(competency_grade)}


def evidence_chunks(
    roster: dict[str, np.ndarray], curriculum: dict[str, np.ndarray], evidence: int, rng: np.random.Generator
) -> Iterator[list[str]]:
    """Evidence rows as COPY text lines, a chunk of students at a time, `evidence` rows in all."""
    students = len(roster["student_user"])
    comp_ids, comp_grade = curriculum["competency_ids"], curriculum["competency_grade"]
    n_comp = len(comp_ids)
    base_rows, extra = divmod(evidence, students)
    score_text = np.array([f"{v / 100:.2f}".rstrip("0").rstrip(".") for v in range(101)], dtype=object)
    term_start = datetime.datetime.combine(TERM_START, datetime.time(12), datetime.UTC)
    span_days = (AS_OF - term_start).days
    start_epoch = int(term_start.timestamp())
    next_id = 1
    for chunk_start in range(0, students, CHUNK_STUDENTS):
        chunk = np.arange(chunk_start, min(students, chunk_start + CHUNK_STUDENTS))
        rows_per_student = base_rows + (chunk < extra)
        pairs_per_student = np.clip(np.ceil(rows_per_student / OBSERVATIONS_PER_PAIR), 1, n_comp).astype(np.int64)
        pairs_per_student[rows_per_student == 0] = 0
        # Competencies: the student's grade and the one below first (in random order), then the rest.
        grade_gap = np.abs(comp_grade[None, :] - (roster["student_grade"][chunk][:, None] - 0.5))
        preference = grade_gap + rng.random((len(chunk), n_comp))
        ranked = np.argsort(preference, axis=1)
        pair_student = np.repeat(chunk, pairs_per_student)
        pair_rank = np.arange(len(pair_student)) - np.repeat(
            np.cumsum(pairs_per_student) - pairs_per_student, pairs_per_student
        )
        pair_comp = comp_ids[ranked[pair_student - chunk_start, pair_rank]]
        # Rows of each student spread over their pairs as evenly as possible.
        per_pair = np.repeat(rows_per_student // np.maximum(pairs_per_student, 1), pairs_per_student)
        remainder = np.repeat(rows_per_student % np.maximum(pairs_per_student, 1), pairs_per_student)
        per_pair += pair_rank < remainder
        n_pairs = len(pair_student)
        # Knowledge tracing story: known at the start, or learned at a geometric step.
        known_from = np.where(
            rng.random(n_pairs) < SIMULATION["p_init"], 0, rng.geometric(SIMULATION["p_learn"], n_pairs)
        )
        first_day = rng.integers(0, max(1, span_days - 30), n_pairs)
        row_pair = np.repeat(np.arange(n_pairs), per_pair)
        step = np.arange(len(row_pair)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        known = step >= known_from[row_pair]
        draw = rng.random(len(row_pair))
        correct = np.where(known, draw > SIMULATION["p_slip"], draw < SIMULATION["p_guess"])
        kind_draw = rng.random(len(row_pair))
        is_rating = kind_draw >= KIND_SHARES["score"]
        is_completion = kind_draw >= KIND_SHARES["score"] + KIND_SHARES["rating"]
        is_rating &= ~is_completion
        partial = rng.random(len(row_pair)) < 0.2
        percent = np.where(
            partial,
            np.where(correct, rng.integers(60, 101, len(row_pair)), rng.integers(0, 60, len(row_pair))),
            correct * 100,
        )
        rating = np.where(correct, rng.integers(3, 5, len(row_pair)), rng.integers(1, 3, len(row_pair)))
        day = np.minimum(first_day[row_pair] + step * 3 + rng.integers(0, 3, len(row_pair)), span_days - 1)
        observed = start_epoch + day * 86400 + rng.integers(-3 * 3600, 3 * 3600, len(row_pair))
        observed_text = np.datetime_as_string(observed.astype("datetime64[s]"), unit="s")
        created_text = np.datetime_as_string((observed + 3600).astype("datetime64[s]"), unit="s")
        students_of_rows = pair_student[row_pair]
        student_text = roster["student_user"][students_of_rows].astype(str)
        teacher_text = roster["student_teacher"][students_of_rows].astype(str)
        comp_text = pair_comp[row_pair].astype(str)
        scores = score_text[percent]
        lines = []
        for n in range(len(row_pair)):
            if is_completion[n]:
                kind, score, rate, recorder = "completion", "\\N", "\\N", "\\N"
            elif is_rating[n]:
                kind, score, rate, recorder = "rating", "\\N", str(rating[n]), teacher_text[n]
            else:
                kind, score, rate, recorder = "score", scores[n], "\\N", "\\N"
            lines.append(
                f"{next_id}\t{student_text[n]}\t{comp_text[n]}\t{kind}\t{observed_text[n]}+00\t{score}\t{rate}\t"
                f"{EVIDENCE_SOURCE}\th{next_id}\t{recorder}\t\t{{}}\t{created_text[n]}+00\n"
            )
            next_id += 1
        yield lines


EVIDENCE_COLUMNS = [
    "id",
    "student_id",
    "competency_id",
    "kind",
    "observed_at",
    "score",
    "rating",
    "source",
    "external_id",
    "recorded_by_id",
    "note",
    "raw",
    "created_at",
]


def load_evidence(conn: Any, roster: dict, curriculum: dict, evidence: int, rng: np.random.Generator) -> None:
    with without_indexes_and_foreign_keys(conn, "mastery_evidence"):
        loaded = 0
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY mastery_evidence ({', '.join(EVIDENCE_COLUMNS)}) FROM STDIN") as copy,
        ):
            next_report = PROGRESS_EVERY
            for lines in evidence_chunks(roster, curriculum, evidence, rng):
                copy.write("".join(lines))
                loaded += len(lines)
                if loaded >= next_report or loaded == evidence:
                    rate = loaded / (time.perf_counter() - started)
                    print(f"  evidence copied: {loaded:,} ({rate:,.0f} rows/s)", flush=True)
                    next_report += PROGRESS_EVERY
        conn.commit()
        conn.execute("SELECT setval(pg_get_serial_sequence('mastery_evidence', 'id'), %s)", [max(evidence, 1)])
        conn.commit()
        print("  rebuilding indexes and foreign keys ...", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--competencies", type=int, default=200)
    parser.add_argument("--evidence", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=20260824)
    parser.add_argument("--database-url", help="the bench database (default: see the module docstring)")
    parser.add_argument("--replace", action="store_true", help="drop the bench database first and rebuild it")
    args = parser.parse_args(argv)
    if args.students < 1 or args.competencies < len(GRADES) or args.evidence < 0:
        parser.error(f"need at least 1 student, {len(GRADES)} competencies and 0 evidence rows")

    url = bench_database_url(args.database_url)
    name = database_name(url)
    started = time.perf_counter()
    if args.replace:
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    from plplatform.embedded_db import ensure_database

    ensure_database(url)
    call_command("migrate", verbosity=0, interactive=False)
    conn = raw_connection()
    conn.autocommit = False
    if conn.execute("SELECT EXISTS (SELECT 1 FROM profiles_district)").fetchone()[0]:
        print(f"Database {name} already holds a district; run again with --replace to rebuild it.", file=sys.stderr)
        return 1
    print(
        f"Building the bench district in database {name}: {args.students:,} students, "
        f"{args.competencies} competencies, {args.evidence:,} evidence rows (seed {args.seed})"
    )
    rng = np.random.default_rng(args.seed)
    step = time.perf_counter()
    roster = build_roster(conn, args.students, rng)
    curriculum = build_curriculum(conn, args.competencies)
    print(f"  roster and curriculum: {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    load_evidence(conn, roster, curriculum, args.evidence, rng)
    print(f"  evidence loaded and indexed: {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE)")
    print(f"  vacuum analyze: {time.perf_counter() - step:.1f} s")
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM profiles_learnerprofile), "
        "(SELECT count(*) FROM mastery_competency WHERE assessable), (SELECT count(*) FROM mastery_evidence), "
        "(SELECT count(DISTINCT (student_id, competency_id)) FROM mastery_evidence), "
        "pg_size_pretty(pg_database_size(current_database()))"
    ).fetchone()
    print(
        f"Done in {time.perf_counter() - started:.1f} s: {counts[0]:,} students, {counts[1]} competencies, "
        f"{counts[2]:,} evidence rows on {counts[3]:,} student × competency pairs; database {name} is {counts[4]}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
