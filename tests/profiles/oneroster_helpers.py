"""Shared by the OneRoster tests: the sample folders, table counts, and small synthetic sets."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from profiles.models import (
    Demographics,
    District,
    Enrollment,
    GuardianLink,
    LearnerProfile,
    RoleMembership,
    School,
    Section,
    SourceIdentity,
    Term,
    User,
)
from tests.shared_data import shared_path

TABLES = [
    District,
    School,
    Term,
    Section,
    User,
    RoleMembership,
    LearnerProfile,
    Enrollment,
    GuardianLink,
    Demographics,
    SourceIdentity,
]


def sample(folder: str) -> Path:
    return shared_path("samples", "oneroster", folder)


def table_counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in TABLES}


def writes_in(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def tables_containing(text: str) -> list[str]:
    """Every table of the database whose rows, as text, contain `text`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cursor.fetchall()]
        found = []
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', [f"%{text}%"])
            if cursor.fetchone()[0]:
                found.append(table)
    return found


MANIFEST_11 = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"


def write_set(folder: Path, files: dict[str, str], *, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def small_set(users: int = 10, *, mode: str = "bulk", skip: int = 0) -> dict[str, str]:
    """A 1.1 set: one district, one school, one year, one class, `users` students (the first `skip` left out)."""
    manifest = MANIFEST_11 + "".join(
        f"file.{name},{mode}\n" for name in ["orgs", "academicSessions", "classes", "users", "enrollments"]
    )
    students = range(skip, users)
    return {
        "manifest.csv": manifest,
        "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "d1,,,Lake District,district,,\ns1,,,Lake School,school,LAKE,d1\n",
        "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,"
        "parentSourcedId,schoolYear\n"
        "y1,,,2026-2027,schoolYear,2026-08-24,2027-06-11,,2027\n",
        "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
        "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
        "c1,,,Maths 5,05,,M5,scheduled,,s1,y1,Mathematics,,\n",
        "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
        "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
        + "".join(f"u{i},,,true,s1,student,stu{i},,Given{i},Family{i},,,,,,,05,\n" for i in students),
        "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate\n" + "".join(f"e{i},,,c1,s1,u{i},student,,,\n" for i in students),
    }
