"""What OneRoster 1.1 and 1.2 CSV files hold: their names, columns, required columns and enumerations.

Only the files the platform maps are listed; the others a manifest may name (resources, results...)
are accepted as absent and ignored with a warning when present.
"""

from __future__ import annotations

COMMON = ["sourcedId", "status", "dateLastModified"]

# Columns of users.csv that only 1.2 has (in 1.1 the roles and orgs are users.csv's own columns).
USERS_1_2_ONLY = [
    "userMasterIdentifier",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]

# Columns of each file we read, in spec order (1.1 and 1.2 together: a 1.2-only column is optional).
COLUMNS: dict[str, list[str]] = {
    "orgs": [*COMMON, "name", "type", "identifier", "parentSourcedId"],
    "academicSessions": [*COMMON, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"],
    "courses": [
        *COMMON,
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ],
    "classes": [
        *COMMON,
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
    "users": [
        *COMMON,
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
        *USERS_1_2_ONLY,
    ],
    "roles": [
        *COMMON,
        "userSourcedId",
        "roleType",
        "role",
        "beginDate",
        "endDate",
        "orgSourcedId",
        "userProfileSourcedId",
    ],
    "enrollments": [
        *COMMON,
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ],
    "demographics": [
        *COMMON,
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ],
}

# A file cannot be read without these columns in its header.
REQUIRED: dict[str, list[str]] = {
    "orgs": ["sourcedId", "name", "type"],
    "academicSessions": ["sourcedId", "title", "type", "startDate", "endDate"],
    "courses": ["sourcedId", "title"],
    "classes": ["sourcedId", "title", "schoolSourcedId", "termSourcedIds"],
    "users": ["sourcedId", "givenName", "familyName"],
    "roles": ["sourcedId", "userSourcedId", "role", "orgSourcedId"],
    "enrollments": ["sourcedId", "classSourcedId", "userSourcedId", "role"],
    "demographics": ["sourcedId"],
}

# Columns that must hold a value on every row (where the column is present).
REQUIRED_VALUES: dict[str, list[str]] = {
    "orgs": ["sourcedId", "name", "type"],
    "academicSessions": ["sourcedId", "title", "type", "startDate", "endDate"],
    "courses": ["sourcedId", "title"],
    "classes": ["sourcedId", "title", "schoolSourcedId", "termSourcedIds"],
    "users": ["sourcedId"],
    "roles": ["sourcedId", "userSourcedId", "role", "orgSourcedId"],
    "enrollments": ["sourcedId", "classSourcedId", "userSourcedId", "role"],
    "demographics": ["sourcedId"],
}

# Files in dependency order: what a later file refers to is read (and applied) first.
FILE_ORDER = ["orgs", "academicSessions", "courses", "classes", "users", "roles", "enrollments", "demographics"]
KNOWN_OTHER_FILES = {
    "manifest",
    "userProfiles",
    "resources",
    "classResources",
    "courseResources",
    "userResources",
    "categories",
    "lineItems",
    "results",
    "scoreScales",
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
}
# COLUMNS lists the columns of 1.1 and 1.2 together; these are the ones a version's file lacks (what an export
# of that version leaves out).
LEFT_OUT: dict[str, dict[str, set[str]]] = {
    "1.1": {"users": set(USERS_1_2_ONLY)},
    "1.2": {"users": {"orgSourcedIds", "role"}},
}
# Files a 1.1 manifest does not name.
ONLY_IN_1_2 = {
    "roles",
    "userProfiles",
    "userResources",
    "scoreScales",
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
}
KNOWN_MANIFEST_KEYS = {"manifest.version", "oneroster.version", "source.systemName", "source.systemCode"} | {
    f"file.{name}" for name in [*FILE_ORDER, *KNOWN_OTHER_FILES] if name != "manifest"
}

DATE_COLUMNS = {"startDate", "endDate", "beginDate", "birthDate"}
DATETIME_COLUMNS = {"dateLastModified"}
BOOLEAN_COLUMNS = {
    "enabledUser",
    "primary",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
}

# Enumerations, written as the spec spells them; a value matching one but for case is normalized.
ENUMS: dict[tuple[str, str], list[str]] = {
    ("*", "status"): ["active", "tobedeleted", "inactive"],
    ("orgs", "type"): ["department", "school", "district", "local", "state", "national"],
    ("academicSessions", "type"): ["gradingPeriod", "semester", "schoolYear", "term"],
    ("classes", "classType"): ["homeroom", "scheduled"],
    ("users", "role"): [
        "administrator",
        "aide",
        "guardian",
        "parent",
        "proctor",
        "relative",
        "student",
        "teacher",
    ],
    ("roles", "role"): [
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    ],
    ("roles", "roleType"): ["primary", "secondary"],
    ("enrollments", "role"): ["administrator", "proctor", "student", "teacher", "aide", "guardian", "parent"],
    ("demographics", "sex"): ["male", "female", "other", "unspecified"],
}


def enum_values(file: str, column: str) -> list[str] | None:
    return ENUMS.get((file, column)) or ENUMS.get(("*", column))
