"""The demo district: a deterministic, realistic district for trying the platform.

`build_demo_plan()` makes every row in memory from a seed (pure: no database, no clock, no global
random state), so two runs with the same arguments give equal plans. `seed_demo_plan()` writes a
plan with set-based inserts inside one transaction. The `seed_demo` management command is the
entry point.

The evidence comes from a learning model rather than noise: each student has a hidden known /
unknown state per competency that changes by the BKT rules of DESIGN.md section 4 (learn 0.15,
guess 0.20, slip 0.10, no forgetting), so the mastery engine has something real to recover.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import count
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from mastery.interop import xapi
from mastery.interop.tools import (
    Observation,
    activity_identity_create,
    observations_ingest,
    person_identity_create,
    tool_credential_create,
)
from mastery.models import Competency, Evidence, Framework, MasteryMethod, MasteryPolicy, Prerequisite
from profiles.models import (
    Demographics,
    District,
    Enrollment,
    Goal,
    GuardianLink,
    Holiday,
    LearnerProfile,
    Role,
    RoleMembership,
    School,
    Section,
    Term,
    User,
)

# --- Fixed facts of the demo ------------------------------------------------------------------

DEFAULT_SCHOOLS = 2
DEFAULT_STUDENTS = 600
DEFAULT_SEED = 1
MAX_SCHOOLS = 10
MIN_STUDENTS_PER_SCHOOL = 10  # at least one student in each of the six grades
MAX_STUDENTS = 20_000  # beyond this the evidence alone runs to millions of rows; use bench/ instead

DEMO_PASSWORD = "demo-pass"
DEMO_DISTRICT_NAME = "Demo District"
DEMO_DISTRICT_CODE = "demo"
DEMO_SOURCE = "demo"
FRAMEWORK_NAME = "Demo District Mathematics, Grades 3–8"
FRAMEWORK_SUBJECT = "Mathematics"
GRADES = range(3, 9)

# The term is fixed, never derived from today's date, so the demo looks the same whenever it is seeded.
TERM_NAME = "2026-27"
TERM_START = datetime.date(2026, 8, 24)
TERM_END = datetime.date(2027, 6, 11)
EVIDENCE_END = datetime.date(2026, 11, 20)  # the history stops before Thanksgiving week
# Last spring's end-of-year checks: what each student already knew when this term began is on record,
# as it is in a district with a year of history. Without it every competency below the starting point
# would be unmastered, and every path would open with dozens of gap-filling steps nobody needs.
PRIOR_YEAR_FIRST = datetime.date(2026, 6, 1)
PRIOR_YEAR_LAST = datetime.date(2026, 6, 12)
PRIOR_YEAR_SOURCE = "demo-prior-year"
PRIOR_YEAR_ITEMS_MAX = 6  # items per competency at most; the check stops once the estimate shows mastery


def _weekdays(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    days = (first + datetime.timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


HOLIDAYS: tuple[tuple[datetime.date, str], ...] = (
    (datetime.date(2026, 9, 7), "Labor Day"),
    (datetime.date(2026, 10, 12), "Indigenous Peoples' Day"),
    (datetime.date(2026, 11, 11), "Veterans Day"),
    (datetime.date(2026, 11, 26), "Thanksgiving"),
    (datetime.date(2026, 11, 27), "Thanksgiving break"),
    *((day, "Winter break") for day in _weekdays(datetime.date(2026, 12, 21), datetime.date(2027, 1, 1))),
    (datetime.date(2027, 1, 18), "Martin Luther King Jr. Day"),
    (datetime.date(2027, 2, 15), "Presidents' Day"),
    *((day, "Spring break") for day in _weekdays(datetime.date(2027, 3, 29), datetime.date(2027, 4, 2))),
    (datetime.date(2027, 5, 31), "Memorial Day"),
)

# BKT parameters of the default policy (DESIGN.md section 4); the simulation uses the same ones.
BKT_PARAMETERS = {"p_init": 0.25, "p_learn": 0.15, "p_guess": 0.20, "p_slip": 0.10, "p_forget": 0.0}
P_INIT = BKT_PARAMETERS["p_init"]
P_LEARN = BKT_PARAMETERS["p_learn"]
P_GUESS = BKT_PARAMETERS["p_guess"]
P_SLIP = BKT_PARAMETERS["p_slip"]
RATING_ERROR = 0.05  # teacher ratings: G = S = 0.05
MASTERY_THRESHOLD = 0.95
MIN_SCORED_FOR_MASTERY = 3

# The sign-ins printed by the command, in the order printed: (username, role, first name, last name).
DEMO_SIGN_INS: tuple[tuple[str, str, str, str], ...] = (
    ("demo-teacher", Role.TEACHER, "Grace", "Okafor"),
    ("demo-student", Role.STUDENT, "Mateo", "Rivera"),
    ("demo-principal", Role.PRINCIPAL, "Daniel", "Whitfield"),
    ("demo-admin", Role.DISTRICT_ADMIN, "Priya", "Raman"),
    ("demo-guardian", Role.GUARDIAN, "Elena", "Rivera"),
)
DEMO_USERNAMES = tuple(sign_in[0] for sign_in in DEMO_SIGN_INS)
# demo-student's first name follows the sex drawn for the student, so profile and name agree.
DEMO_STUDENT_FIRST_NAMES = {"female": "Sofia", "male": "Mateo", "other": "Alex"}

USERNAME_FORMATS: dict[str, str] = {
    Role.STUDENT: "stu-{:05d}",
    Role.TEACHER: "tch-{:03d}",
    Role.PRINCIPAL: "prn-{:02d}",
    Role.GUARDIAN: "gdn-{:04d}",
    Role.DISTRICT_ADMIN: "adm-{:02d}",
}

# --- Word lists ---------------------------------------------------------------------------------

SCHOOL_NAMES = (
    "Riverside",
    "Oak Hill",
    "Lincoln Park",
    "Maple Grove",
    "Cedar Ridge",
    "Westfield",
    "Lakeview",
    "Hillcrest",
    "Brookside",
    "Pine Valley",
)
FEMALE_FIRST_NAMES = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Camila", "Luna", "Aaliyah", "Zoe", "Maya", "Valentina", "Aisha", "Priya", "Mei",
    "Fatima", "Yesenia", "Jasmine", "Leilani", "Hannah", "Grace", "Chloe", "Ximena", "Nadia", "Keisha",
    "Ana", "Lucia", "Hana", "Imani", "Naomi", "Ruth", "Tatiana", "Ifeoma", "Rosa", "Claire",
)  # fmt: skip
MALE_FIRST_NAMES = (
    "Liam", "Noah", "Oliver", "James", "Elijah", "Lucas", "Benjamin", "Henry", "Sebastian", "Jackson",
    "Aiden", "Santiago", "Ethan", "Daniel", "Michael", "Jayden", "Isaiah", "Malik", "Diego", "Omar",
    "Arjun", "Wei", "Kenji", "Andre", "Marcus", "Carlos", "Luis", "Jamal", "Samuel", "Caleb",
    "Dylan", "Ezekiel", "Hiroshi", "Tyrone", "Jose", "Ahmed", "Nathan", "Gabriel", "Kai", "Tomas",
)  # fmt: skip
NEUTRAL_FIRST_NAMES = (
    "Alex", "Jordan", "Taylor", "Sam", "Avery", "Quinn", "Rowan", "Skyler", "Jamie", "Charlie",
    "Emerson", "River", "Sage", "Finley", "Reese",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Campbell", "Mitchell", "Carter", "Roberts", "Patel",
    "Kim", "Chen", "Okafor", "Begay", "Yazzie", "Kealoha", "Ali", "Haddad", "Cohen", "Murphy",
    "O'Brien", "Kowalski", "Novak", "Tran", "Pham", "Singh", "Shah", "Washington", "Brooks", "Price",
    "Reyes", "Cruz", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ramos", "Castillo", "Nakamura", "Mensah",
)  # fmt: skip

STRENGTHS = (
    "mental math",
    "explaining reasoning out loud",
    "drawing diagrams and models",
    "persistence with hard problems",
    "number sense",
    "spatial reasoning",
    "estimating answers",
    "asking good questions",
    "helping classmates",
    "spotting patterns",
    "careful checking",
)
NEEDS = (
    "fraction concepts",
    "multiplication facts fluency",
    "reading multi-step word problems",
    "showing work",
    "checking answers",
    "staying organized",
    "place value",
    "negative numbers",
    "writing equations from words",
    "confidence in math",
    "math vocabulary",
)
INTERESTS = (
    "soccer",
    "basketball",
    "drawing",
    "Minecraft",
    "cooking",
    "music",
    "animals",
    "space",
    "dance",
    "coding",
    "robotics",
    "graphic novels",
    "skateboarding",
    "gardening",
    "cars",
    "fashion design",
    "baseball",
    "building things",
)
MOTIVATIONS = (
    "seeing my progress",
    "helping classmates",
    "choosing what to work on",
    "real-world problems",
    "working with friends",
    "beating my own record",
    "praise from family",
    "earning badges",
    "getting ready for the next grade",
)
IEP_ACCOMMODATIONS = (
    "extended time",
    "read-aloud for word problems",
    "calculator for multi-step computation",
    "reduced number of practice items",
    "small-group setting for assessments",
    "graphic organizers",
    "frequent breaks",
    "preferential seating",
)
SECTION_504_ACCOMMODATIONS = ("extended time", "frequent breaks", "preferential seating")
ENGLISH_LEARNER_ACCOMMODATION = "bilingual word-to-word glossary"
GUARDIAN_RELATIONSHIPS = ("mother", "father", "grandmother", "aunt", "stepfather", "legal guardian")

# --- Demographic shares (roughly US public schools) -------------------------------------------

SEX_WEIGHTS = (("female", 49.0), ("male", 49.0), ("other", 2.0))
# One reported category per student, so each flag's share is the stated share of all students;
# Hispanic or Latino counts as its own category, as in national enrollment statistics.
ETHNICITY_WEIGHTS = (
    ("hispanic_or_latino", 28.0),
    ("white", 45.0),
    ("black_or_african_american", 15.0),
    ("asian", 5.0),
    ("two_or_more_races", 5.0),
    ("american_indian_or_alaska_native", 1.0),
    ("native_hawaiian_or_other_pacific_islander", 0.5),
    ("", 0.5),  # not reported
)
# English learners are far more common among Hispanic and Asian students; overall ~10%.
ENGLISH_LEARNER_RATE = {"hispanic_or_latino": 0.25, "asian": 0.20}
ENGLISH_LEARNER_RATE_OTHERWISE = 0.04
IEP_RATE = 0.14
SECTION_504_RATE = 0.035  # of students without an IEP, so ~3% overall
ECONOMICALLY_DISADVANTAGED_RATE = 0.45

# Where students start: most near grade level, some 1-2 grades below, some above. Students who
# are already underserved start below grade level more often (the opportunity gap the equity
# dashboard exists to show); the shift is modest and the learning model itself is the same for all.
START_BELOW_RATE = 0.18
START_ABOVE_RATE = 0.15
START_BELOW_SHIFT = {"iep": 0.15, "english_learner": 0.08, "economically_disadvantaged": 0.06}

# --- Practice habits ----------------------------------------------------------------------------

ATTENDANCE_RANGE = (0.88, 0.98)
SESSION_RATE_RANGE = (0.30, 0.85)  # share of school days with an individual practice session
PARTIAL_CREDIT_SHARE = 0.15  # multi-part items scored as the share of parts right
PARTIAL_CREDIT_PARTS = 4
REVIEW_SHARE = 0.15  # items revisiting one of the competencies just behind the current one
REVIEW_WINDOW = 6
PLACEMENT_BELOW = 4  # the placement check looks at this many competencies below the start
PLACEMENT_DAYS = 3  # ... on one of the first school days
GROUP_RATING_SHARE = 0.7  # sections whose teacher records a weekly group check-in rating
STUDENTS_PER_SECTION = 30
GUARDIAN_SHARE = 0.04

# --- The mathematics framework ---------------------------------------------------------------

STRAND_NAMES = {
    "OA": "Operations & Algebraic Thinking",
    "NBT": "Number & Operations in Base Ten",
    "NF": "Number & Operations—Fractions",
    "MD": "Measurement & Data",
    "G": "Geometry",
    "RP": "Ratios & Proportional Relationships",
    "NS": "The Number System",
    "EE": "Expressions & Equations",
    "F": "Functions",
    "SP": "Statistics & Probability",
}

# Per grade, strands in teaching order with their competencies in order (paraphrasing the Common
# Core State Standards for Mathematics). Codes are "<grade>.<strand>.<n>".
CURRICULUM: dict[int, tuple[tuple[str, tuple[str, ...]], ...]] = {
    3: (
        (
            "NBT",
            (
                "Round whole numbers to the nearest 10 or 100.",
                "Fluently add and subtract within 1000 using place value and properties of operations.",
                "Multiply one-digit whole numbers by multiples of 10 (such as 9 × 80 and 5 × 60).",
            ),
        ),
        (
            "OA",
            (
                "Interpret products of whole numbers as equal groups (5 × 7 as 5 groups of 7 objects).",
                "Interpret whole-number quotients as equal shares or as a number of equal groups.",
                "Use multiplication and division within 100 to solve word problems with equal groups and arrays.",
                "Find the unknown number in a multiplication or division equation (8 × ? = 48).",
                "Apply the commutative, associative and distributive properties to multiply.",
                "Understand division as an unknown-factor problem (32 ÷ 8 as 8 × ? = 32).",
                "Fluently multiply and divide within 100, knowing all products of two one-digit numbers.",
                "Solve two-step word problems with the four operations and check answers by estimating.",
                "Identify patterns in addition and multiplication tables and explain them.",
            ),
        ),
        (
            "NF",
            (
                "Understand a unit fraction 1/b as one part when a whole is split into b equal parts.",
                "Represent fractions on a number line diagram.",
                "Recognize and generate simple equivalent fractions (1/2 = 2/4) with visual models.",
                "Express whole numbers as fractions and recognize fractions equal to whole numbers.",
                "Compare two fractions with the same numerator or the same denominator using >, = or <.",
            ),
        ),
        (
            "MD",
            (
                "Tell and write time to the nearest minute and solve elapsed-time word problems.",
                "Measure and estimate liquid volumes and masses in liters, grams and kilograms.",
                "Draw scaled picture graphs and bar graphs and answer how-many-more questions from them.",
                "Measure lengths to the nearest quarter inch and show the data in a line plot.",
                "Find the area of a rectangle by tiling and by multiplying side lengths.",
                "Use area models and the distributive property to find areas of rectilinear figures.",
                "Solve problems about perimeters of polygons, including finding an unknown side length.",
            ),
        ),
        (
            "G",
            (
                "Classify quadrilaterals by their attributes, including rhombuses, rectangles and squares.",
                "Partition shapes into parts with equal areas and name each part as a unit fraction.",
            ),
        ),
    ),
    4: (
        (
            "NBT",
            (
                "Recognize that a digit in one place is ten times what it is in the place to its right.",
                "Read, write and compare multi-digit whole numbers in numerals, words and expanded form.",
                "Round multi-digit whole numbers to any place.",
                "Fluently add and subtract multi-digit whole numbers using the standard algorithm.",
                "Multiply up to four-digit numbers by one-digit numbers, and two two-digit numbers.",
                "Find whole-number quotients and remainders with up to four-digit dividends.",
            ),
        ),
        (
            "OA",
            (
                "Interpret a multiplication equation as a comparison (35 is 5 times as many as 7).",
                "Multiply or divide to solve word problems involving multiplicative comparison.",
                "Solve multistep word problems with whole numbers, interpreting remainders in context.",
                "Find all factor pairs of a whole number up to 100 and decide whether it is prime or composite.",
                "Generate a number or shape pattern that follows a rule and describe its features.",
            ),
        ),
        (
            "NF",
            (
                "Explain why a/b equals (n × a)/(n × b) using visual fraction models.",
                "Compare fractions with different numerators and denominators using benchmarks.",
                "Add and subtract fractions and mixed numbers with like denominators.",
                "Multiply a fraction by a whole number and solve related word problems.",
                "Rewrite tenths as hundredths and add fractions with denominators 10 and 100.",
                "Use decimal notation for fractions with denominators 10 or 100.",
                "Compare two decimals to hundredths by reasoning about their size.",
            ),
        ),
        (
            "MD",
            (
                "Know relative sizes of measurement units and convert from larger units to smaller ones.",
                "Solve word problems about distance, time, volume, mass and money, including decimals.",
                "Apply the area and perimeter formulas for rectangles in real-world problems.",
                "Make a line plot of measurements in fractions of a unit and solve problems with it.",
                "Measure angles in whole-number degrees with a protractor and sketch angles of given size.",
                "Find unknown angles in a diagram by adding and subtracting angle measures.",
            ),
        ),
        (
            "G",
            (
                "Draw and identify points, lines, segments, rays, angles, and perpendicular and parallel lines.",
                "Classify two-dimensional figures by parallel or perpendicular sides and by angle size.",
                "Recognize and draw lines of symmetry for two-dimensional figures.",
            ),
        ),
    ),
    5: (
        (
            "NBT",
            (
                "Recognize that a digit is 10 times the place to its right and 1/10 of the place to its left.",
                "Explain patterns in zeros and decimal point placement when multiplying by powers of 10.",
                "Read, write and compare decimals to thousandths.",
                "Round decimals to any place.",
                "Fluently multiply multi-digit whole numbers using the standard algorithm.",
                "Find whole-number quotients with up to four-digit dividends and two-digit divisors.",
                "Add, subtract, multiply and divide decimals to hundredths.",
            ),
        ),
        (
            "OA",
            (
                "Use parentheses and brackets in numerical expressions and evaluate them.",
                "Write simple expressions that record calculations and interpret them without evaluating.",
                "Generate two numerical patterns from two rules, form ordered pairs and graph them.",
            ),
        ),
        (
            "NF",
            (
                "Add and subtract fractions with unlike denominators using equivalent fractions.",
                "Solve word problems with sums and differences of fractions and check them with benchmarks.",
                "Interpret a fraction as division of the numerator by the denominator.",
                "Multiply a fraction or whole number by a fraction, including areas with fractional sides.",
                "Interpret multiplication as scaling by comparing a product with its factors.",
                "Solve real-world problems involving multiplication of fractions and mixed numbers.",
                "Divide unit fractions by whole numbers and whole numbers by unit fractions.",
            ),
        ),
        (
            "MD",
            (
                "Convert among different-sized standard measurement units within one system.",
                "Make a line plot of fractional measurements and use fraction operations to solve problems.",
                "Understand volume as measured by unit cubes.",
                "Find volumes of right rectangular prisms with V = l × w × h and V = B × h.",
                "Find volumes of solid figures made of two non-overlapping rectangular prisms.",
            ),
        ),
        (
            "G",
            (
                "Graph points in the first quadrant of the coordinate plane and interpret coordinates.",
                "Represent real-world problems by graphing points in the first quadrant.",
                "Classify two-dimensional figures in a hierarchy based on their properties.",
            ),
        ),
    ),
    6: (
        (
            "NS",
            (
                "Interpret and compute quotients of fractions and solve word problems dividing fractions.",
                "Fluently divide multi-digit numbers using the standard algorithm.",
                "Fluently add, subtract, multiply and divide multi-digit decimals.",
                "Find the greatest common factor and least common multiple of two whole numbers.",
                "Use positive and negative numbers to represent quantities in real-world contexts.",
                "Order rational numbers and understand absolute value.",
                "Solve problems by graphing points in all four quadrants of the coordinate plane.",
            ),
        ),
        (
            "RP",
            (
                "Use ratio language to describe a relationship between two quantities.",
                "Understand the unit rate a/b associated with a ratio a:b and use rate language.",
                "Use tables, tape diagrams and double number lines to solve ratio and rate problems.",
                "Solve unit rate problems, including unit pricing and constant speed.",
                "Find a percent of a quantity as a rate per 100 and find the whole from a part and percent.",
                "Use ratio reasoning to convert measurement units.",
            ),
        ),
        (
            "EE",
            (
                "Write and evaluate numerical expressions involving whole-number exponents.",
                "Write, read and evaluate expressions in which letters stand for numbers.",
                "Apply the properties of operations to generate equivalent expressions.",
                "Solve one-variable equations of the form x + p = q and px = q.",
                "Write inequalities x > c or x < c and represent their solutions on number lines.",
                "Use variables to represent two quantities that change in relationship to one another.",
            ),
        ),
        (
            "G",
            (
                "Find the area of triangles, special quadrilaterals and polygons by composing and decomposing.",
                "Find the volume of a right rectangular prism with fractional edge lengths.",
                "Draw polygons in the coordinate plane given the coordinates of their vertices.",
                "Represent three-dimensional figures with nets and use them to find surface area.",
            ),
        ),
        (
            "SP",
            (
                "Recognize a statistical question as one that anticipates variability in the answers.",
                "Summarize numerical data with measures of center and variability.",
                "Display numerical data in dot plots, histograms and box plots.",
            ),
        ),
    ),
    7: (
        (
            "NS",
            (
                "Add and subtract rational numbers and represent sums and differences on a number line.",
                "Multiply and divide rational numbers and interpret products and quotients in context.",
                "Convert a rational number to a decimal by long division and know it terminates or repeats.",
                "Solve real-world problems involving the four operations with rational numbers.",
            ),
        ),
        (
            "RP",
            (
                "Compute unit rates associated with ratios of fractions.",
                "Decide whether two quantities are in a proportional relationship using tables and graphs.",
                "Identify the constant of proportionality in tables, graphs, equations and diagrams.",
                "Represent proportional relationships by equations such as y = kx.",
                "Use proportional relationships to solve multistep ratio and percent problems.",
            ),
        ),
        (
            "EE",
            (
                "Add, subtract, factor and expand linear expressions with rational coefficients.",
                "Rewrite an expression in different forms to show how quantities in a problem are related.",
                "Solve multistep problems with positive and negative rational numbers in any form.",
                "Solve word problems leading to equations of the form px + q = r and p(x + q) = r.",
                "Solve word problems leading to inequalities of the form px + q > r and graph the solutions.",
            ),
        ),
        (
            "G",
            (
                "Solve problems involving scale drawings of geometric figures.",
                "Draw shapes with given conditions and decide when three lengths make a triangle.",
                "Describe the cross-sections of right rectangular prisms and pyramids.",
                "Know and use the formulas for the area and circumference of a circle.",
                "Use supplementary, complementary, vertical and adjacent angles to find unknown angles.",
                "Solve problems involving area, volume and surface area of two- and three-dimensional objects.",
            ),
        ),
        (
            "SP",
            (
                "Use random sampling to draw inferences about a population.",
                "Compare two data distributions using measures of center and variability.",
                "Understand the probability of a chance event as a number between 0 and 1.",
                "Find probabilities of compound events using organized lists, tables and tree diagrams.",
                "Design and use a simulation to estimate the probability of compound events.",
            ),
        ),
    ),
    8: (
        (
            "NS",
            (
                "Know that numbers that are not rational are irrational and write repeating decimals as fractions.",
                "Use rational approximations of irrational numbers to compare them and place them on a number line.",
            ),
        ),
        (
            "EE",
            (
                "Know and apply the properties of integer exponents to generate equivalent expressions.",
                "Use square root and cube root symbols to represent solutions to x² = p and x³ = p.",
                "Use scientific notation to estimate very large or very small quantities.",
                "Perform operations with numbers in scientific notation.",
                "Graph proportional relationships and interpret the unit rate as the slope.",
                "Use similar triangles to explain why the slope is the same between any two points on a line.",
                "Solve linear equations in one variable with one, no or infinitely many solutions.",
                "Solve systems of two linear equations in two variables algebraically and by graphing.",
            ),
        ),
        (
            "F",
            (
                "Understand that a function assigns to each input exactly one output.",
                "Compare properties of two functions each represented in a different way.",
                "Interpret y = mx + b as a linear function and give examples of nonlinear functions.",
                "Construct a function to model a linear relationship and interpret its rate of change.",
                "Describe a functional relationship qualitatively by analyzing a graph.",
            ),
        ),
        (
            "G",
            (
                "Verify experimentally the properties of rotations, reflections and translations.",
                "Understand congruence through sequences of rotations, reflections and translations.",
                "Describe the effect of dilations, translations, rotations and reflections on coordinates.",
                "Understand similarity through sequences of transformations and dilations.",
                "Use informal arguments about angle sums and exterior angles of triangles.",
                "Explain a proof of the Pythagorean Theorem and its converse.",
                "Apply the Pythagorean Theorem to find unknown side lengths in right triangles.",
                "Use the formulas for the volumes of cones, cylinders and spheres to solve problems.",
            ),
        ),
        (
            "SP",
            (
                "Construct and interpret scatter plots for bivariate data and describe patterns of association.",
                "Fit a straight line to a scatter plot and informally assess the fit.",
                "Use a linear model to solve problems and interpret its slope and intercept.",
                "Construct and interpret two-way tables of categorical data.",
            ),
        ),
    ),
}

# Which strands of the grade below a strand builds on; a strand not listed builds on the strand
# of the same name one grade down (4.NF on 3.NF), if there is one.
FEEDER_STRANDS: dict[str, tuple[str, ...]] = {
    "6.NS": ("5.NBT", "5.NF"),
    "6.RP": ("5.NF",),
    "6.EE": ("5.OA",),
    "6.G": ("5.G", "5.MD"),
    "6.SP": ("5.MD",),
    "8.F": ("7.RP", "7.EE"),
}

# --- Plan rows ----------------------------------------------------------------------------------
# People are referred to by `key` (their index in DemoPlan.people); sections by their index in
# DemoPlan.sections; schools by code; competencies by code. The writer maps these to database ids.


@dataclass(frozen=True, slots=True)
class PersonRow:
    key: int
    username: str
    first_name: str
    last_name: str
    role: str
    school: str | None  # school code; None for the district admin
    demo_sign_in: bool  # signs in with the demo password; everyone else has an unusable one


@dataclass(frozen=True, slots=True)
class SchoolRow:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class SectionRow:
    school: str
    code: str
    name: str
    grade_level: int
    teacher: int
    group_ratings: bool  # the teacher records a weekly check-in rating for the whole section


@dataclass(frozen=True, slots=True)
class StudentRow:
    person: int
    school: str
    section: int
    grade_level: int
    strengths: tuple[str, ...]
    needs: tuple[str, ...]
    interests: tuple[str, ...]
    motivations: tuple[str, ...]
    accommodations: tuple[str, ...]
    sex: str
    ethnicity: str  # the Demographics flag set for this student, "" when not reported
    english_learner: bool
    iep: bool
    section_504: bool
    economically_disadvantaged: bool


@dataclass(frozen=True, slots=True)
class GoalRow:
    student: int
    title: str
    description: str
    target_date: datetime.date
    status: str
    set_with: int | None
    conference_notes: str


@dataclass(frozen=True, slots=True)
class GuardianRow:
    guardian: int
    student: int
    relationship: str


@dataclass(frozen=True, slots=True)
class CompetencyRow:
    code: str
    statement: str
    grade_level: int
    sort_order: int
    assessable: bool
    parent: str | None


@dataclass(frozen=True, slots=True)
class PrerequisiteRow:
    competency: str
    prerequisite: str


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    external_id: str
    student: int
    competency: str
    kind: str
    observed_at: datetime.datetime
    score: float | None
    rating: int | None
    recorded_by: int | None
    source: str = DEMO_SOURCE


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    people: tuple[PersonRow, ...]
    schools: tuple[SchoolRow, ...]
    sections: tuple[SectionRow, ...]
    students: tuple[StudentRow, ...]
    goals: tuple[GoalRow, ...]
    guardians: tuple[GuardianRow, ...]
    competencies: tuple[CompetencyRow, ...]
    prerequisites: tuple[PrerequisiteRow, ...]
    evidence: tuple[EvidenceRow, ...]


# --- The curriculum (the same for every seed) -----------------------------------------------------


@dataclass(frozen=True)
class Curriculum:
    competencies: tuple[CompetencyRow, ...]
    prerequisites: tuple[PrerequisiteRow, ...]
    path: tuple[str, ...]  # assessable codes in (grade, sort_order) order: a topological order
    grade_start: dict[int, int]  # index in `path` of each grade's first competency
    grade_codes: dict[int, tuple[str, ...]]
    prerequisites_of: dict[str, tuple[str, ...]]
    strand_of: dict[str, str]  # assessable code → strand code


@cache
def demo_curriculum() -> Curriculum:
    rows: list[CompetencyRow] = []
    strand_members: dict[str, list[str]] = {}
    for grade, strands in CURRICULUM.items():
        sort_order = 0
        for letters, statements in strands:
            strand_code = f"{grade}.{letters}"
            sort_order += 1
            rows.append(CompetencyRow(strand_code, STRAND_NAMES[letters], grade, sort_order, False, None))
            strand_members[strand_code] = []
            for number, statement in enumerate(statements, start=1):
                code = f"{strand_code}.{number}"
                sort_order += 1
                rows.append(CompetencyRow(code, statement, grade, sort_order, True, strand_code))
                strand_members[strand_code].append(code)
    edges = _prerequisite_edges(strand_members)
    _check_edges_go_forward(rows, edges)
    return _curriculum_from(tuple(rows), tuple(edges), strand_members)


def _prerequisite_edges(strand_members: dict[str, list[str]]) -> list[PrerequisiteRow]:
    edges: list[PrerequisiteRow] = []
    for strand_code, members in strand_members.items():
        feeders = [strand_members[feeder] for feeder in _feeder_strands(strand_code, strand_members)]
        for index, code in enumerate(members):
            # Within a strand: the previous competency, and on every second one the one before that too.
            if index >= 1:
                edges.append(PrerequisiteRow(code, members[index - 1]))
            if index >= 2 and index % 2 == 0:
                edges.append(PrerequisiteRow(code, members[index - 2]))
            # Across grades: the feeder strand's competency at the same relative position.
            for feeder in feeders:
                position = math.ceil((index + 1) * len(feeder) / len(members)) - 1
                edges.append(PrerequisiteRow(code, feeder[position]))
    return edges


def _feeder_strands(strand_code: str, strand_members: dict[str, list[str]]) -> tuple[str, ...]:
    if strand_code in FEEDER_STRANDS:
        return FEEDER_STRANDS[strand_code]
    grade, letters = strand_code.split(".")
    same_strand_below = f"{int(grade) - 1}.{letters}"
    return (same_strand_below,) if same_strand_below in strand_members else ()


def _check_edges_go_forward(rows: Sequence[CompetencyRow], edges: Sequence[PrerequisiteRow]) -> None:
    """Every edge runs from an earlier (grade, sort_order) to a later one, so the graph cannot cycle."""
    place = {row.code: (row.grade_level, row.sort_order) for row in rows}
    backward = [edge for edge in edges if place[edge.prerequisite] >= place[edge.competency]]
    if backward:
        raise AssertionError(f"Prerequisite edges that do not run forward: {backward}")


def _curriculum_from(
    rows: tuple[CompetencyRow, ...], edges: tuple[PrerequisiteRow, ...], strand_members: dict[str, list[str]]
) -> Curriculum:
    path = tuple(row.code for row in sorted(rows, key=lambda r: (r.grade_level, r.sort_order)) if row.assessable)
    grade_codes = {grade: tuple(code for code in path if code.startswith(f"{grade}.")) for grade in GRADES}
    prerequisites_of: dict[str, list[str]] = {code: [] for code in path}
    for edge in edges:
        prerequisites_of[edge.competency].append(edge.prerequisite)
    return Curriculum(
        competencies=rows,
        prerequisites=edges,
        path=path,
        grade_start={grade: path.index(codes[0]) for grade, codes in grade_codes.items()},
        grade_codes=grade_codes,
        prerequisites_of={code: tuple(prereqs) for code, prereqs in prerequisites_of.items()},
        strand_of={code: strand for strand, members in strand_members.items() for code in members},
    )


# --- Calendar -------------------------------------------------------------------------------------


def school_days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Weekdays from first to last (inclusive) that are not demo-term holidays."""
    holidays = {day for day, _ in HOLIDAYS}
    return [day for day in _weekdays(first, last) if day not in holidays]


def _at(day: datetime.date, minutes_after_midnight: int, tz: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(minutes_after_midnight // 60, minutes_after_midnight % 60), tz)


# --- BKT ------------------------------------------------------------------------------------------


def bkt_update(p_known: float, score: float, *, guess: float = P_GUESS, slip: float = P_SLIP) -> float:
    """One BKT step with partial credit (DESIGN.md section 4): condition on the score, then learn."""
    if_known = score * (1 - slip) + (1 - score) * slip
    if_unknown = score * guess + (1 - score) * (1 - guess)
    posterior = p_known * if_known / (p_known * if_known + (1 - p_known) * if_unknown)
    return posterior + (1 - posterior) * P_LEARN


def _response_score(rng: random.Random, known: bool) -> float:
    p_right = 1 - P_SLIP if known else P_GUESS
    if rng.random() < PARTIAL_CREDIT_SHARE:
        parts_right = sum(rng.random() < p_right for _ in range(PARTIAL_CREDIT_PARTS))
        return parts_right / PARTIAL_CREDIT_PARTS
    return 1.0 if rng.random() < p_right else 0.0


def _teacher_rating(rng: random.Random, known: bool) -> int:
    """1-4; "meets" (3 or 4) for a student who knows it, wrong either way with probability 0.05."""
    meets = (rng.random() >= RATING_ERROR) if known else (rng.random() < RATING_ERROR)
    if meets:
        return 4 if rng.random() < 0.45 else 3
    return 1 if rng.random() < 0.35 else 2


# --- People, schools, sections --------------------------------------------------------------------


@dataclass
class _Person:
    role: str
    school: str | None
    first_name: str
    last_name: str


@dataclass
class _Roster:
    """People in the order they are made; a person's key is their index."""

    people: list[_Person] = field(default_factory=list)

    def add(self, role: str, school: str | None, first_name: str, last_name: str) -> int:
        self.people.append(_Person(role, school, first_name, last_name))
        return len(self.people) - 1


def _split_evenly(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _school_rows(schools: int) -> tuple[SchoolRow, ...]:
    return tuple(SchoolRow(name.lower().replace(" ", "-"), f"{name} School") for name in SCHOOL_NAMES[:schools])


def _staff_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES), rng.choice(LAST_NAMES)


def _sections_per_grade(students_in_grade: int) -> int:
    return max(1, math.ceil(students_in_grade / STUDENTS_PER_SECTION))


def _teachers_for_sections(rng: random.Random, roster: _Roster, school: str, grade: int, sections: int) -> list[int]:
    """Grades 3-5 have a homeroom teacher per section; in 6-8 one math teacher takes two sections."""
    per_teacher = 1 if grade <= 5 else 2
    teachers: list[int] = []
    for index in range(sections):
        if index % per_teacher == 0:
            teachers.append(roster.add(Role.TEACHER, school, *_staff_name(rng)))
        else:
            teachers.append(teachers[-1])
    return teachers


def _build_sections(
    rng: random.Random, roster: _Roster, schools: Sequence[SchoolRow], students: int
) -> tuple[list[SectionRow], list[int]]:
    """Sections with their teachers, and how many students each section gets."""
    sections: list[SectionRow] = []
    seats: list[int] = []
    for school, school_students in zip(schools, _split_evenly(students, len(schools)), strict=True):
        for grade, grade_students in zip(GRADES, _split_evenly(school_students, len(GRADES)), strict=True):
            sizes = _split_evenly(grade_students, _sections_per_grade(grade_students))
            teachers = _teachers_for_sections(rng, roster, school.code, grade, len(sizes))
            for index, teacher in enumerate(teachers):
                group_ratings = rng.random() < GROUP_RATING_SHARE
                letter = _section_letter(index)
                code, name = f"MATH{grade}-{letter}", f"Math {grade}{letter}"
                sections.append(SectionRow(school.code, code, name, grade, teacher, group_ratings))
            seats += sizes
    return sections, seats


def _section_letter(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: big runs can have more than 26 sections in a grade."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _demo_teacher_section(sections: Sequence[SectionRow], first_school: str) -> int:
    """demo-teacher teaches the first grade-6 section of the first school (two sections at defaults)."""
    return next(i for i, s in enumerate(sections) if s.school == first_school and s.grade_level == 6)


# --- Students -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Learner:
    """A student's row plus the hidden traits the simulation uses (never stored)."""

    row: StudentRow
    start_position: int  # competencies of the path before this index are already known
    attendance: float
    session_rate: float
    items_per_session: tuple[int, int]


def _weighted(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _pick(rng: random.Random, words: Sequence[str], low: int, high: int) -> tuple[str, ...]:
    return tuple(rng.sample(words, rng.randint(low, high)))


def _first_name(rng: random.Random, sex: str) -> str:
    names = {"female": FEMALE_FIRST_NAMES, "male": MALE_FIRST_NAMES}.get(sex, NEUTRAL_FIRST_NAMES)
    return rng.choice(names)


def _accommodations(rng: random.Random, *, iep: bool, section_504: bool, english_learner: bool) -> tuple[str, ...]:
    chosen: list[str] = []
    if iep:
        chosen += rng.sample(IEP_ACCOMMODATIONS, rng.randint(1, 3))
    elif section_504:
        chosen += rng.sample(SECTION_504_ACCOMMODATIONS, rng.randint(1, 2))
    if english_learner and rng.random() < 0.5:
        chosen.append(ENGLISH_LEARNER_ACCOMMODATION)
    return tuple(chosen)


def _start_level(rng: random.Random, grade: int, *, iep: bool, english_learner: bool, disadvantaged: bool) -> float:
    """The grade level (fractional) a student starts the year at."""
    below_rate = START_BELOW_RATE
    below_rate += START_BELOW_SHIFT["iep"] if iep else 0
    below_rate += START_BELOW_SHIFT["english_learner"] if english_learner else 0
    below_rate += START_BELOW_SHIFT["economically_disadvantaged"] if disadvantaged else 0
    draw = rng.random()
    if draw < below_rate:
        return grade + rng.uniform(-2.0, -1.0)
    if draw < below_rate + START_ABOVE_RATE:
        return grade + rng.uniform(0.3, 1.0)
    return grade + rng.uniform(-0.2, 0.15)


def _start_position(level: float, curriculum: Curriculum) -> int:
    """Index in the path where a student at this (fractional) grade level starts."""
    grade = math.floor(level)
    if grade < GRADES[0]:
        return 0
    if grade > GRADES[-1]:
        return len(curriculum.path)
    within = round((level - grade) * len(curriculum.grade_codes[grade]))
    return curriculum.grade_start[grade] + within


def _make_learner(
    rng: random.Random, roster: _Roster, section_index: int, section: SectionRow, curriculum: Curriculum
) -> _Learner:
    sex = _weighted(rng, SEX_WEIGHTS)
    ethnicity = _weighted(rng, ETHNICITY_WEIGHTS)
    english_learner = rng.random() < ENGLISH_LEARNER_RATE.get(ethnicity, ENGLISH_LEARNER_RATE_OTHERWISE)
    iep = rng.random() < IEP_RATE
    section_504 = not iep and rng.random() < SECTION_504_RATE
    disadvantaged = rng.random() < ECONOMICALLY_DISADVANTAGED_RATE
    person = roster.add(Role.STUDENT, section.school, _first_name(rng, sex), rng.choice(LAST_NAMES))
    row = StudentRow(
        person=person,
        school=section.school,
        section=section_index,
        grade_level=section.grade_level,
        strengths=_pick(rng, STRENGTHS, 1, 3),
        needs=_pick(rng, NEEDS, 1, 2),
        interests=_pick(rng, INTERESTS, 1, 3),
        motivations=_pick(rng, MOTIVATIONS, 1, 2),
        accommodations=_accommodations(rng, iep=iep, section_504=section_504, english_learner=english_learner),
        sex=sex,
        ethnicity=ethnicity,
        english_learner=english_learner,
        iep=iep,
        section_504=section_504,
        economically_disadvantaged=disadvantaged,
    )
    level = _start_level(
        rng, section.grade_level, iep=iep, english_learner=english_learner, disadvantaged=disadvantaged
    )
    low_items = rng.randint(3, 4)
    return _Learner(
        row=row,
        start_position=_start_position(level, curriculum),
        attendance=rng.uniform(*ATTENDANCE_RANGE),
        session_rate=rng.uniform(*SESSION_RATE_RANGE),
        items_per_session=(low_items, low_items + rng.randint(1, 3)),
    )


def _build_learners(
    seed: int, roster: _Roster, sections: Sequence[SectionRow], seats: Sequence[int], curriculum: Curriculum
) -> list[_Learner]:
    learners: list[_Learner] = []
    for section_index, (section, size) in enumerate(zip(sections, seats, strict=True)):
        for _ in range(size):
            # One generator per student, so a student's draws do not depend on anyone else's.
            rng = random.Random(f"{seed}:student:{len(learners)}")
            learners.append(_make_learner(rng, roster, section_index, section, curriculum))
    return learners


# --- The term's evidence --------------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckIn:
    """A weekly whole-section check-in: the teacher rates everyone present on the class's competency."""

    at: datetime.datetime
    competency: str
    teacher: int


def _section_check_ins(
    rng: random.Random, section: SectionRow, days: Sequence[datetime.date], curriculum: Curriculum, tz: ZoneInfo
) -> dict[datetime.date, _CheckIn]:
    if not section.group_ratings:
        return {}
    weekday = rng.randint(1, 4)  # Tuesday to Friday
    grade_codes = curriculum.grade_codes[section.grade_level]
    check_ins: dict[datetime.date, _CheckIn] = {}
    for day in days:
        if day.weekday() != weekday:
            continue
        # The whole class moves through the grade-level competencies about one a week.
        week = (day - TERM_START).days // 7
        competency = grade_codes[min(week, len(grade_codes) - 1)]
        check_ins[day] = _CheckIn(_at(day, rng.randint(13 * 60, 14 * 60 + 30), tz), competency, section.teacher)
    return check_ins


class _TermSimulation:
    """One student's term: hidden knowledge that changes by the BKT rules, and the evidence it leaves.

    The practice software moves the student along the path (a topological order of the graph) when
    its own BKT estimate reaches mastery, as the platform's default policy would.
    """

    def __init__(
        self,
        learner: _Learner,
        curriculum: Curriculum,
        rng: random.Random,
        tz: ZoneInfo,
        external_ids: Iterator[int],
    ) -> None:
        self.learner = learner
        self.path = curriculum.path
        self.prerequisites_of = curriculum.prerequisites_of
        self.rng = rng
        self.tz = tz
        self.external_ids = external_ids
        self.position = learner.start_position
        self.known: set[str] = set(self.path[: self.position])
        self.estimate: dict[str, float] = {}
        self.scored: dict[str, int] = {}
        self.mastered_on: dict[str, datetime.date] = {}
        self.evidence: list[EvidenceRow] = []

    def run(self, days: Sequence[datetime.date], check_ins: dict[datetime.date, _CheckIn]) -> None:
        placement_day = days[self.rng.randrange(PLACEMENT_DAYS)]
        for day in days:
            if day == placement_day:
                self.placement_check(day)
                continue
            if self.rng.random() >= self.learner.attendance:
                continue
            if self.rng.random() < self.learner.session_rate:
                self.practice_session(day)
            if day in check_ins:
                self.group_check_in(check_ins[day])

    def placement_check(self, day: datetime.date) -> None:
        """Two items on each competency just below the starting point and on the first one ahead."""
        at = _at(day, self.rng.randint(8 * 60 + 30, 9 * 60 + 15), self.tz)
        below = self.path[max(0, self.position - PLACEMENT_BELOW) : self.position]
        ahead = self.path[self.position : self.position + 1]
        for code in (*below, *ahead):
            for _ in range(2):
                self.scored_item(code, at)
                at += datetime.timedelta(minutes=self.rng.randint(1, 3))

    def practice_session(self, day: datetime.date) -> None:
        at = _at(day, self.rng.randint(9 * 60 + 30, 11 * 60 + 30), self.tz)
        for _ in range(self.rng.randint(*self.learner.items_per_session)):
            code = self.next_item()
            if code is None:
                return
            self.scored_item(code, at)
            at += datetime.timedelta(minutes=self.rng.randint(1, 4))

    def next_item(self) -> str | None:
        behind = self.path[max(0, self.position - REVIEW_WINDOW) : self.position]
        if behind and (self.position >= len(self.path) or self.rng.random() < REVIEW_SHARE):
            return self.rng.choice(behind)
        return self.path[self.position] if self.position < len(self.path) else None

    def scored_item(self, code: str, at: datetime.datetime) -> None:
        known = code in self.known
        score = _response_score(self.rng, known)
        self.record(code, at, kind=Evidence.Kind.SCORE, score=score)
        self.estimate[code] = bkt_update(self.estimate.get(code, P_INIT), score)
        self.scored[code] = self.scored.get(code, 0) + 1
        if not known and self.rng.random() < P_LEARN:
            self.known.add(code)
        self.advance_if_mastered(code, at.date())

    def advance_if_mastered(self, code: str, day: datetime.date) -> None:
        if self.position >= len(self.path) or code != self.path[self.position]:
            return
        if self.estimate[code] >= MASTERY_THRESHOLD and self.scored[code] >= MIN_SCORED_FOR_MASTERY:
            self.mastered_on[code] = day
            self.position += 1

    def group_check_in(self, check_in: _CheckIn) -> None:
        code = check_in.competency
        # The lesson is a learning opportunity only for a student ready for it (prerequisites known).
        ready = all(prerequisite in self.known for prerequisite in self.prerequisites_of[code])
        if code not in self.known and ready and self.rng.random() < P_LEARN:
            self.known.add(code)
        rating = _teacher_rating(self.rng, code in self.known)
        self.record(code, check_in.at, kind=Evidence.Kind.RATING, rating=rating, recorded_by=check_in.teacher)

    def record(
        self,
        code: str,
        at: datetime.datetime,
        *,
        kind: str,
        score: float | None = None,
        rating: int | None = None,
        recorded_by: int | None = None,
    ) -> None:
        external_id = f"demo-{next(self.external_ids)}"
        self.evidence.append(
            EvidenceRow(external_id, self.learner.row.person, code, kind, at, score, rating, recorded_by)
        )


# --- Goals and guardians --------------------------------------------------------------------------

GOAL_TARGET_DATES = (
    datetime.date(2026, 10, 30),
    datetime.date(2026, 12, 18),
    datetime.date(2027, 1, 29),
    datetime.date(2027, 3, 12),
    datetime.date(2027, 5, 28),
)
GOAL_COUNTS = (0, 1, 2)
GOAL_COUNT_WEIGHTS = (35.0, 45.0, 20.0)
GOAL_SET_WITH_TEACHER_SHARE = 0.6


def _goal_text(rng: random.Random, learner: _Learner, curriculum: Curriculum) -> tuple[str, str, str | None]:
    """(title, description, competency code it is about, if any)."""
    # A stretch: a competency a few weeks to a few months of work ahead of the starting point.
    ahead = curriculum.path[learner.start_position + 3 : learner.start_position + 15]
    grade = learner.row.grade_level
    kind = rng.choice(("master", "master", "practice", "explain", "catch_up"))
    if kind == "master" and ahead:
        code = rng.choice(ahead)
        statement = next(row.statement for row in curriculum.competencies if row.code == code)
        return f"Master {code}", statement, code
    if kind == "catch_up" and learner.start_position < curriculum.grade_start[grade]:
        code = curriculum.path[learner.start_position]
        strand = STRAND_NAMES[curriculum.strand_of[code].split(".")[1]]
        return f"Reach grade {grade} work in {strand}", f"Close the gaps in {strand} one step at a time.", None
    if kind == "practice":
        days = rng.randint(3, 4)
        return (
            f"Practice math {days} days a week",
            f"Do a practice session on at least {days} school days a week.",
            None,
        )
    return "Explain my reasoning on word problems", "Write one sentence that explains how I got each answer.", None


def _goal_status(
    rng: random.Random, code: str | None, target_date: datetime.date, mastered_on: dict[str, datetime.date]
) -> str:
    """A goal about a competency is met once the practice software saw it mastered; others by chance."""
    if code is not None and code in mastered_on:
        return Goal.Status.MET
    if target_date > EVIDENCE_END:
        return Goal.Status.ACTIVE
    if code is None and rng.random() < 0.6:
        return Goal.Status.MET
    return Goal.Status.NOT_MET


def _build_goals(
    seed: int,
    learners: Sequence[_Learner],
    sections: Sequence[SectionRow],
    mastered_on: dict[int, dict[str, datetime.date]],
    curriculum: Curriculum,
) -> list[GoalRow]:
    goals: list[GoalRow] = []
    for learner in learners:
        rng = random.Random(f"{seed}:goals:{learner.row.person}")
        how_many = rng.choices(GOAL_COUNTS, weights=GOAL_COUNT_WEIGHTS)[0]
        for target_date in sorted(rng.sample(GOAL_TARGET_DATES, how_many)):
            title, description, code = _goal_text(rng, learner, curriculum)
            with_teacher = rng.random() < GOAL_SET_WITH_TEACHER_SHARE
            goals.append(
                GoalRow(
                    student=learner.row.person,
                    title=title,
                    description=description,
                    target_date=target_date,
                    status=_goal_status(rng, code, target_date, mastered_on[learner.row.person]),
                    set_with=sections[learner.row.section].teacher if with_teacher else None,
                    conference_notes="Set together at a goal-setting conference." if with_teacher else "",
                )
            )
    return goals


def _build_guardians(seed: int, roster: _Roster, learners: Sequence[_Learner], demo_student: int) -> list[GuardianRow]:
    """A few guardians with accounts; the first is demo-guardian, linked to demo-student."""
    rng = random.Random(f"{seed}:guardians")
    others = [learner.row.person for learner in learners if learner.row.person != demo_student]
    wanted = max(1, round(len(learners) * GUARDIAN_SHARE))
    children = [demo_student, *sorted(rng.sample(others, min(wanted - 1, len(others))))]
    links: list[GuardianRow] = []
    for child in children:
        student = roster.people[child]
        last_name = student.last_name if rng.random() < 0.8 else rng.choice(LAST_NAMES)
        first_name = rng.choice(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES)
        guardian = roster.add(Role.GUARDIAN, student.school, first_name, last_name)
        links.append(GuardianRow(guardian, child, rng.choice(GUARDIAN_RELATIONSHIPS)))
    return links


# --- Usernames and the demo sign-ins --------------------------------------------------------------


def _apply_demo_sign_ins(roster: _Roster, demo_keys: dict[str, int], student_sex: str) -> None:
    for username, _role, first_name, last_name in DEMO_SIGN_INS:
        person = roster.people[demo_keys[username]]
        person.first_name = DEMO_STUDENT_FIRST_NAMES[student_sex] if username == "demo-student" else first_name
        person.last_name = last_name


def _person_rows(roster: _Roster, demo_keys: dict[str, int]) -> tuple[PersonRow, ...]:
    """Fixed usernames for the demo sign-ins; everyone else numbered per role in the order made."""
    demo_username = {key: username for username, key in demo_keys.items()}
    numbers: dict[str, Iterator[int]] = {role: count(1) for role in USERNAME_FORMATS}
    rows: list[PersonRow] = []
    for key, person in enumerate(roster.people):
        username = demo_username.get(key) or USERNAME_FORMATS[person.role].format(next(numbers[person.role]))
        rows.append(
            PersonRow(
                key, username, person.first_name, person.last_name, person.role, person.school, key in demo_username
            )
        )
    return tuple(rows)


# --- The plan -------------------------------------------------------------------------------------


def build_demo_plan(
    *,
    schools: int = DEFAULT_SCHOOLS,
    students: int = DEFAULT_STUDENTS,
    seed: int = DEFAULT_SEED,
    time_zone: str = "America/New_York",
) -> DemoPlan:
    """Every row of the demo district, in memory. Pure: equal arguments give equal plans."""
    curriculum = demo_curriculum()
    tz = ZoneInfo(time_zone)
    staff_rng = random.Random(f"{seed}:staff")
    roster = _Roster()
    school_rows = _school_rows(schools)
    admin = roster.add(Role.DISTRICT_ADMIN, None, *_staff_name(staff_rng))
    principals = [roster.add(Role.PRINCIPAL, school.code, *_staff_name(staff_rng)) for school in school_rows]
    sections, seats = _build_sections(staff_rng, roster, school_rows, students)
    demo_section_index = _demo_teacher_section(sections, school_rows[0].code)
    demo_teacher = sections[demo_section_index].teacher
    # demo-teacher's sections always use group check-ins, so the demo shows teacher ratings.
    sections = [replace(s, group_ratings=True) if s.teacher == demo_teacher else s for s in sections]
    learners = _build_learners(seed, roster, sections, seats, curriculum)
    demo_learner = next(learner for learner in learners if learner.row.section == demo_section_index)
    evidence, mastered_on = _simulate_term(seed, learners, sections, curriculum, tz)
    goals = _build_goals(seed, learners, sections, mastered_on, curriculum)
    guardians = _build_guardians(seed, roster, learners, demo_learner.row.person)
    demo_keys = {
        "demo-teacher": demo_teacher,
        "demo-student": demo_learner.row.person,
        "demo-principal": principals[0],
        "demo-admin": admin,
        "demo-guardian": guardians[0].guardian,
    }
    _apply_demo_sign_ins(roster, demo_keys, demo_learner.row.sex)
    return DemoPlan(
        seed=seed,
        people=_person_rows(roster, demo_keys),
        schools=school_rows,
        sections=tuple(sections),
        students=tuple(learner.row for learner in learners),
        goals=tuple(goals),
        guardians=tuple(guardians),
        competencies=curriculum.competencies,
        prerequisites=curriculum.prerequisites,
        evidence=tuple(evidence),
    )


def _prior_year_record(
    learner: _Learner, curriculum: Curriculum, rng: random.Random, tz: ZoneInfo, external_ids: Iterator[int]
) -> list[EvidenceRow]:
    """Last spring's checks on what the student knew before this term's starting point (the placement
    check covers the last PLACEMENT_BELOW of them): items on each competency until the estimate shows
    mastery, at most PRIOR_YEAR_ITEMS_MAX, so a slip now and then leaves a real gap on record."""
    days = school_days(PRIOR_YEAR_FIRST, PRIOR_YEAR_LAST)
    rows: list[EvidenceRow] = []
    for code in curriculum.path[: max(0, learner.start_position - PLACEMENT_BELOW)]:
        at = _at(rng.choice(days), rng.randint(8 * 60 + 30, 14 * 60), tz)
        estimate, items = P_INIT, 0
        while items < PRIOR_YEAR_ITEMS_MAX and not (estimate >= MASTERY_THRESHOLD and items >= MIN_SCORED_FOR_MASTERY):
            score = _response_score(rng, known=True)
            rows.append(
                EvidenceRow(
                    f"prior-{next(external_ids)}",
                    learner.row.person,
                    code,
                    Evidence.Kind.SCORE,
                    at,
                    score,
                    None,
                    None,
                    PRIOR_YEAR_SOURCE,
                )
            )
            estimate, items = bkt_update(estimate, score), items + 1
            at += datetime.timedelta(minutes=rng.randint(1, 3))
    return rows


def _simulate_term(
    seed: int, learners: Sequence[_Learner], sections: Sequence[SectionRow], curriculum: Curriculum, tz: ZoneInfo
) -> tuple[list[EvidenceRow], dict[int, dict[str, datetime.date]]]:
    """Evidence of every student: last spring's checks, then this term from its start to EVIDENCE_END;
    and when each mastered what this term."""
    days = school_days(TERM_START, EVIDENCE_END)
    check_ins = [
        _section_check_ins(random.Random(f"{seed}:section:{index}"), section, days, curriculum, tz)
        for index, section in enumerate(sections)
    ]
    external_ids = count(1)
    evidence: list[EvidenceRow] = []
    mastered_on: dict[int, dict[str, datetime.date]] = {}
    prior_ids = count(1)
    for learner in learners:
        # Its own random stream, so this term's evidence is the same with or without the prior year.
        evidence.extend(
            _prior_year_record(learner, curriculum, random.Random(f"{seed}:prior:{learner.row.person}"), tz, prior_ids)
        )
        rng = random.Random(f"{seed}:evidence:{learner.row.person}")
        simulation = _TermSimulation(learner, curriculum, rng, tz, external_ids)
        simulation.run(days, check_ins[learner.row.section])
        evidence.extend(simulation.evidence)
        mastered_on[learner.row.person] = simulation.mastered_on
    return evidence, mastered_on


# --- Writing a plan -------------------------------------------------------------------------------

BATCH_SIZE = 5000


@transaction.atomic
def seed_demo_plan(plan: DemoPlan) -> None:
    """Insert every row of the plan, set-based, in one transaction (all or nothing)."""
    district = District.objects.create(name=DEMO_DISTRICT_NAME, code=DEMO_DISTRICT_CODE)
    schools = _insert_schools(plan, district)
    terms = _insert_terms(schools)
    users = _insert_users(plan)
    _insert_memberships(plan, district, schools, users)
    sections = _insert_sections(plan, schools, terms)
    _insert_enrollments(plan, sections, users)
    _insert_learners(plan, schools, users)
    _insert_goals_and_guardians(plan, users)
    competencies = _insert_framework(plan)
    _insert_evidence(plan, users, competencies)
    _insert_learning_tool(plan, district, competencies)


def _insert_schools(plan: DemoPlan, district: District) -> dict[str, int]:
    grades = {"grade_low": GRADES[0], "grade_high": GRADES[-1]}
    rows = [School(district=district, name=s.name, code=s.code, **grades) for s in plan.schools]
    return {school.code: school.pk for school in School.objects.bulk_create(rows)}


def _insert_terms(schools: dict[str, int]) -> dict[str, int]:
    rows = [
        Term(school_id=school_id, name=TERM_NAME, start_date=TERM_START, end_date=TERM_END)
        for school_id in schools.values()
    ]
    terms = {code: term.pk for code, term in zip(schools, Term.objects.bulk_create(rows), strict=True)}
    Holiday.objects.bulk_create(
        Holiday(term_id=term_id, date=day, name=name) for term_id in terms.values() for day, name in HOLIDAYS
    )
    return terms


def _insert_users(plan: DemoPlan) -> dict[int, int]:
    demo_hash = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    rows = []
    for person in plan.people:
        user = User(username=person.username, first_name=person.first_name, last_name=person.last_name)
        if person.demo_sign_in:
            user.password = demo_hash
        else:
            user.set_unusable_password()
        rows.append(user)
    created = User.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return {person.key: user.pk for person, user in zip(plan.people, created, strict=True)}


def _insert_memberships(plan: DemoPlan, district: District, schools: dict[str, int], users: dict[int, int]) -> None:
    RoleMembership.objects.bulk_create(
        (
            RoleMembership(
                user_id=users[person.key],
                role=person.role,
                school_id=schools[person.school] if person.school else None,
                district=None if person.school else district,
            )
            for person in plan.people
        ),
        batch_size=BATCH_SIZE,
    )


def _insert_sections(plan: DemoPlan, schools: dict[str, int], terms: dict[str, int]) -> list[int]:
    rows = [
        Section(
            school_id=schools[s.school],
            term_id=terms[s.school],
            code=s.code,
            name=s.name,
            subject=FRAMEWORK_SUBJECT,
            grade_level=s.grade_level,
        )
        for s in plan.sections
    ]
    return [section.pk for section in Section.objects.bulk_create(rows)]


def _insert_enrollments(plan: DemoPlan, sections: list[int], users: dict[int, int]) -> None:
    def enrollment(section: int, person: int, role: str) -> Enrollment:
        return Enrollment(section_id=sections[section], user_id=users[person], role=role, start_date=TERM_START)

    teachers = [enrollment(index, s.teacher, Enrollment.Role.TEACHER) for index, s in enumerate(plan.sections)]
    students = [enrollment(s.section, s.person, Enrollment.Role.STUDENT) for s in plan.students]
    Enrollment.objects.bulk_create(teachers + students, batch_size=BATCH_SIZE)


def _insert_learners(plan: DemoPlan, schools: dict[str, int], users: dict[int, int]) -> None:
    profiles = [
        LearnerProfile(
            user_id=users[s.person],
            school_id=schools[s.school],
            grade_level=s.grade_level,
            strengths=list(s.strengths),
            needs=list(s.needs),
            interests=list(s.interests),
            motivations=list(s.motivations),
            accommodations=list(s.accommodations),
        )
        for s in plan.students
    ]
    LearnerProfile.objects.bulk_create(profiles, batch_size=BATCH_SIZE)
    Demographics.objects.bulk_create((_demographics(s, users) for s in plan.students), batch_size=BATCH_SIZE)


def _demographics(student: StudentRow, users: dict[int, int]) -> Demographics:
    flags = {student.ethnicity: True} if student.ethnicity else {}
    return Demographics(
        student_id=users[student.person],
        sex=student.sex,
        english_learner=student.english_learner,
        iep=student.iep,
        section_504=student.section_504,
        economically_disadvantaged=student.economically_disadvantaged,
        **flags,
    )


def _insert_goals_and_guardians(plan: DemoPlan, users: dict[int, int]) -> None:
    Goal.objects.bulk_create(
        (
            Goal(
                student_id=users[g.student],
                title=g.title,
                description=g.description,
                target_date=g.target_date,
                status=g.status,
                set_with_id=users[g.set_with] if g.set_with is not None else None,
                conference_notes=g.conference_notes,
            )
            for g in plan.goals
        ),
        batch_size=BATCH_SIZE,
    )
    GuardianLink.objects.bulk_create(
        GuardianLink(guardian_id=users[g.guardian], student_id=users[g.student], relationship=g.relationship)
        for g in plan.guardians
    )


def _insert_framework(plan: DemoPlan) -> dict[str, int]:
    framework = Framework.objects.create(
        name=FRAMEWORK_NAME, subject=FRAMEWORK_SUBJECT, grade_low=GRADES[0], grade_high=GRADES[-1]
    )
    MasteryPolicy.objects.create(
        framework=framework,
        version=1,
        method=MasteryMethod.BKT,
        parameters=dict(BKT_PARAMETERS),
        note="Default BKT policy of the demo district.",
    )
    ids: dict[str, int] = {}
    # Strands first, so their children can point at them.
    for assessable in (False, True):
        rows = [row for row in plan.competencies if row.assessable is assessable]
        created = Competency.objects.bulk_create(
            Competency(
                framework=framework,
                parent_id=ids[row.parent] if row.parent else None,
                code=row.code,
                statement=row.statement,
                grade_level=row.grade_level,
                sort_order=row.sort_order,
                assessable=row.assessable,
            )
            for row in rows
        )
        ids.update((competency.code, competency.pk) for competency in created)
    Prerequisite.objects.bulk_create(
        Prerequisite(competency_id=ids[edge.competency], prerequisite_id=ids[edge.prerequisite])
        for edge in plan.prerequisites
    )
    return ids


# COPY rather than bulk_create: the demo's ~220,000 evidence rows load in a few seconds instead of ~25.
_EVIDENCE_COPY = (
    f"COPY {Evidence._meta.db_table} (student_id, competency_id, kind, observed_at, score, rating, source, "
    "external_id, recorded_by_id, note, raw, created_at) FROM STDIN"
)


def _insert_evidence(plan: DemoPlan, users: dict[int, int], competencies: dict[str, int]) -> None:
    now = timezone.now()
    with connection.cursor() as cursor, cursor.cursor.copy(_EVIDENCE_COPY) as copy:
        for e in plan.evidence:
            recorded_by = users[e.recorded_by] if e.recorded_by is not None else None
            copy.write_row(
                (
                    users[e.student],
                    competencies[e.competency],
                    e.kind,
                    e.observed_at,
                    e.score,
                    e.rating,
                    e.source,
                    e.external_id,
                    recorded_by,
                    "",
                    "{}",
                    now,
                )
            )


# --- A learning tool whose statements wait for the district admin -------------------------------------

# A practice tool of the district sends xAPI statements. Four answers come from a learner the roster does not
# know yet (enrolled in the tool first), two from demo-student on an activity no competency is mapped to:
# demo-admin finds both groups on /districts/<id>/unmatched/. Nothing here becomes evidence until mapped.
DEMO_TOOL_NAME = "Math Practice (demo)"
DEMO_TOOL_SOURCE = "demo-math-practice"
_TOOL_SITE = "https://math-practice.example"
_UNKNOWN_LEARNER = f"mailto:new.enrollee@{_TOOL_SITE.removeprefix('https://')}"
_DEMO_STUDENT_IN_TOOL = f"mailto:demo-student@{_TOOL_SITE.removeprefix('https://')}"
_UNMAPPED_ACTIVITY = (f"{_TOOL_SITE}/activities/fraction-warm-up", "Fraction warm-up")
_ANSWERED = {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}}


def _tool_statement(number: int, person: str, activity: tuple[str, str], scaled: float) -> dict[str, object]:
    day = EVIDENCE_END - datetime.timedelta(days=number)
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "actor": {"objectType": "Agent", "mbox": person},
        "verb": _ANSWERED,
        "object": {"id": activity[0], "definition": {"name": {"en-US": activity[1]}}},
        "result": {"score": {"scaled": scaled}},
        "timestamp": f"{day.isoformat()}T14:{10 + number:02d}:00Z",
    }


def _insert_learning_tool(plan: DemoPlan, district: District, competencies: dict[str, int]) -> None:
    tool = tool_credential_create(name=DEMO_TOOL_NAME, source=DEMO_TOOL_SOURCE, district=district).credential
    grade_five = [row for row in plan.competencies if row.assessable and row.grade_level == 5][:4]
    activities = [(f"{_TOOL_SITE}/activities/{row.code.lower()}", f"Practice set {row.code}") for row in grade_five]
    mapped = Competency.objects.in_bulk([competencies[row.code] for row in grade_five])
    for (activity, _name), row in zip(activities, grade_five, strict=True):
        activity_identity_create(tool=tool, activity=activity, competency=mapped[competencies[row.code]])
    person_identity_create(tool=tool, person=_DEMO_STUDENT_IN_TOOL, student=User.objects.get(username="demo-student"))
    statements = [
        *(_tool_statement(n, _UNKNOWN_LEARNER, activity, score)
          for n, (activity, score) in enumerate(zip(activities, (0.6, 0.8, 0.7, 0.9), strict=True), start=1)),
        _tool_statement(5, _DEMO_STUDENT_IN_TOOL, _UNMAPPED_ACTIVITY, 0.5),
        _tool_statement(6, _DEMO_STUDENT_IN_TOOL, _UNMAPPED_ACTIVITY, 0.75),
    ]  # fmt: skip
    observations = [xapi.parse_statement(statement) for statement in statements]
    observations_ingest(tool=tool, observations=[o for o in observations if isinstance(o, Observation)])


# --- Reading back for the command's report --------------------------------------------------------


def demo_sign_ins_present() -> list[tuple[str, str]]:
    """(username, role) of the demo sign-ins that exist in the database, in the printed order."""
    existing = set(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
    return [(username, role) for username, role, _, _ in DEMO_SIGN_INS if username in existing]


def database_counts() -> dict[str, int]:
    return {
        "districts": District.objects.count(),
        "schools": School.objects.count(),
        "users": User.objects.count(),
        "students": RoleMembership.objects.filter(role=Role.STUDENT).count(),
        "teachers": RoleMembership.objects.filter(role=Role.TEACHER).count(),
        "sections": Section.objects.count(),
        "goals": Goal.objects.count(),
        "competencies": Competency.objects.count(),
        "prerequisites": Prerequisite.objects.count(),
        "evidence": Evidence.objects.count(),
    }
