"""OneRoster import at district scale: generate a 1.1 bulk CSV set for N students, then time the import.

    .venv/bin/python bench/oneroster.py                   # 50,000 students (the target: under 2 minutes)
    .venv/bin/python bench/oneroster.py --students 5000   # a quick look

The set is generated here (its own generator, seeded; nothing from the shared samples): one district,
`--schools` schools, a school year and its two semesters, six classes per student in sections of 25, a
teacher per five classes, a guardian per student, demographics for everyone. It is written to a
temporary folder, then imported three times into a fresh database named `plplatform_oneroster_bench`
(only a database whose name contains `bench` is ever dropped): first into the empty district (the timed
target), then the same files again (nothing may change: 0 writes), then a bulk set with 5 % of the
students gone (they are deactivated). Prints one line per phase (with the machine's load) and, last,
one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_load

TARGET_SECONDS = 120
DATABASE = "plplatform_oneroster_bench"
STAMP = "2026-08-01T00:00:00.000Z"
CLASSES_PER_STUDENT = 6
CLASS_SIZE = 25
CLASSES_PER_TEACHER = 5
SUBJECTS = ["Mathematics", "English", "Science", "History", "Art", "Music"]
MANIFEST_FILES = ["orgs", "academicSessions", "classes", "users", "enrollments", "demographics"]


def _write(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, *, students: int, schools: int, seed: int, drop_share: float = 0.0) -> dict[str, int]:
    """Write the set; `drop_share` of the students (and their rows) are left out. Returns row counts."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
        + "".join(f"file.{name},bulk\n" for name in MANIFEST_FILES)
    )
    orgs = [["dist", "active", STAMP, "Bench District", "district", "", ""]]
    orgs += [[f"sch{s}", "active", STAMP, f"School {s}", "school", f"SCH-{s:03}", "dist"] for s in range(schools)]
    sessions = [
        ["y", "active", STAMP, "2026-2027", "schoolYear", "2026-08-24", "2027-06-11", "", "2027"],
        ["fall", "active", STAMP, "Fall 2026", "semester", "2026-08-24", "2027-01-15", "y", "2027"],
        ["spring", "active", STAMP, "Spring 2027", "semester", "2027-01-18", "2027-06-11", "y", "2027"],
    ]
    # Its own random stream: the rows of the students kept are the same as in the full set.
    leaving = random.Random(seed + 1)
    kept = {n for n in range(students) if leaving.random() >= drop_share}
    classes, users, enrollments, demographics = [], [], [], []
    per_school = -(-students // schools)
    for s in range(schools):
        school_students = [n for n in range(s * per_school, min(students, (s + 1) * per_school))]
        class_count = -(-len(school_students) * CLASSES_PER_STUDENT // CLASS_SIZE)
        for c in range(class_count):
            grade = f"{3 + c % 6:02}"  # "03".."08": grades stay strings
            classes.append(
                [
                    f"c{s}-{c}",
                    "active",
                    STAMP,
                    f"{SUBJECTS[c % 6]} {grade} ({c})",
                    grade,
                    "",
                    f"C{c}",
                    "scheduled",
                    "",
                    f"sch{s}",
                    "fall,spring",
                    SUBJECTS[c % 6],
                    "",
                    str(c % 6 + 1),
                ]
            )
        for t in range(-(-class_count // CLASSES_PER_TEACHER)):
            sid = f"t{s}-{t}"
            users.append(_user(sid, "teacher", f"sch{s}", "", ""))
            for c in range(t * CLASSES_PER_TEACHER, min(class_count, (t + 1) * CLASSES_PER_TEACHER)):
                enrollments.append(
                    [f"e{sid}-{c}", "active", STAMP, f"c{s}-{c}", f"sch{s}", sid, "teacher", "true", "", ""]
                )
        for position, n in enumerate(school_students):
            flags = [rng.choice(["true", "false"]) for _ in range(7)]
            sex = rng.choice(["female", "male"])
            if n not in kept:
                continue
            sid = f"s{n}"
            grade = f"{3 + position % 6:02}"
            users.append(_user(sid, "student", f"sch{s}", f"g{n}", grade))
            users.append(_user(f"g{n}", "parent", f"sch{s}", sid, ""))
            for k in range(CLASSES_PER_STUDENT):
                c = (position * CLASSES_PER_STUDENT + k) % class_count
                enrollments.append([f"e{sid}-{k}", "active", STAMP, f"c{s}-{c}", f"sch{s}", sid, "student", "", "", ""])
            demographics.append([sid, "active", STAMP, "", sex, *flags])
    _write(
        folder,
        "orgs",
        ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
        orgs,
    )
    _write(
        folder,
        "academicSessions",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "type",
            "startDate",
            "endDate",
            "parentSourcedId",
            "schoolYear",
        ],
        sessions,
    )
    _write(
        folder,
        "classes",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ],
        classes,
    )
    _write(
        folder,
        "users",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
        ],
        users,
    )
    _write(
        folder,
        "enrollments",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ],
        enrollments,
    )
    _write(
        folder,
        "demographics",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "birthDate",
            "sex",
            "americanIndianOrAlaskaNative",
            "asian",
            "blackOrAfricanAmerican",
            "nativeHawaiianOrOtherPacificIslander",
            "white",
            "demographicRaceTwoOrMoreRaces",
            "hispanicOrLatinoEthnicity",
        ],
        demographics,
    )
    return {"orgs": len(orgs), "classes": len(classes), "users": len(users), "enrollments": len(enrollments)}


def _user(sid: str, role: str, school: str, agents: str, grades: str) -> list[str]:
    # A password value on every row: the importer must drop it (the bench checks the users table).
    return [
        sid,
        "active",
        STAMP,
        "true",
        school,
        role,
        sid,
        f"{{SIS:{sid}}}",
        f"Given{sid}",
        f"Family{sid}",
        "",
        sid,
        f"{sid}@bench.example",
        "",
        "",
        agents,
        grades,
        "bench-secret",
    ]


def bench_url(explicit: str | None) -> str:
    import os

    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))


def fresh_database(url: str) -> None:
    import psycopg
    from psycopg import conninfo, sql

    name = str(conninfo.conninfo_to_dict(url).get("dbname") or "")
    if "bench" not in name:
        raise SystemExit(f"Refusing to reset {name!r}: only databases whose name contains 'bench'.")
    with psycopg.connect(conninfo.make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup(url: str) -> None:
    import os

    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="plplatform.settings.dev")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed_import(folder: Path, label: str, **options: bool) -> tuple[float, object]:
    from profiles.imports.oneroster import import_oneroster
    from profiles.models import District

    district = District.objects.get(code="bench")
    started = time.perf_counter()
    report = import_oneroster(folder, district=district, system="bench-sis", **options)
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s, {report.writes} writes, {len(report.errors)} errors ({machine_load()})")
    for entity, create, update, deactivate, unchanged in report.rows():
        print(f"  {entity:<18} create {create:>7}  update {update:>7}  deactivate {deactivate:>7}  same {unchanged:>7}")
    print("  seconds: " + ", ".join(f"{stage} {s:.1f}" for stage, s in report.seconds.items()))
    for issue in report.errors[:5]:
        print(f"  error: {issue}")
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--schools", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = bench_url(args.database_url)
    fresh_database(url)
    setup(url)
    from profiles.models import District, Enrollment, User

    District.objects.create(name="Bench District", code="bench", import_demographics=True)
    with tempfile.TemporaryDirectory(prefix="oneroster-bench-") as tmp:
        started = time.perf_counter()
        full = generate(Path(tmp, "full"), students=args.students, schools=args.schools, seed=args.seed)
        generate(Path(tmp, "smaller"), students=args.students, schools=args.schools, seed=args.seed, drop_share=0.05)
        print(f"generated {full} in {time.perf_counter() - started:.1f} s ({machine_load()})")
        first, report = timed_import(Path(tmp, "full"), "first import")
        again, repeat = timed_import(Path(tmp, "full"), "same files again")
        third, dropped = timed_import(Path(tmp, "smaller"), "5 % of students gone")
    assert report.applied and repeat.applied and dropped.applied  # type: ignore[attr-defined]
    assert repeat.writes == 0, "a re-import of the same files must change nothing"  # type: ignore[attr-defined]
    assert not User.objects.filter(password__contains="bench-secret").exists()
    figures = {
        "students": args.students,
        "rows": full,
        "first_import_s": round(first, 1),
        "reimport_s": round(again, 1),
        "reimport_writes": repeat.writes,  # type: ignore[attr-defined]
        "deactivating_import_s": round(third, 1),
        "users": User.objects.count(),
        "active_users": User.objects.filter(is_active=True).count(),
        "enrollments": Enrollment.objects.count(),
        "target_s": TARGET_SECONDS,
        "met": first < TARGET_SECONDS,
        "load": machine_load(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
