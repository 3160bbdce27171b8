"""Invariants of the profiles data model: natural keys, ranges, scopes, refused with clear messages."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from profiles.models import District, LearnerProfile, Role, RoleMembership, School, Section, Term, User


@pytest.fixture
def school(db):
    district = District.objects.create(name="North", code="north")
    return School.objects.create(district=district, name="North A", code="north-a", grade_low=3, grade_high=8)


@pytest.fixture
def term(school):
    return Term.objects.create(
        school=school, name="2026-27", start_date=datetime.date(2026, 8, 24), end_date=datetime.date(2027, 6, 11)
    )


def test_duplicate_section_code_is_refused_naming_the_values(school, term):
    Section.objects.create(school=school, term=term, code="M5-1", name="Math 5", grade_level=5)
    duplicate = Section(school=school, term=term, code="M5-1", name="Other", grade_level=5)
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert refused.value.messages == [
        "A section with school “North A”, term “2026-27 (North A)” and code “M5-1” already exists."
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert Section.objects.count() == 1


@pytest.mark.parametrize("grade", [13, 99])
def test_grade_out_of_range_is_refused_naming_the_grade(school, grade):
    user = User.objects.create_user(username="kid")
    profile = LearnerProfile(user=user, school=school, grade_level=grade)
    with pytest.raises(ValidationError) as refused:
        profile.full_clean()
    assert refused.value.message_dict == {
        "grade_level": [f"Grade {grade} is out of range: grades run from 0 (kindergarten) to 12."]
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        profile.save()
    assert LearnerProfile.objects.count() == 0


def test_term_must_end_after_it_starts(school):
    term = Term(school=school, name="Bad", start_date=datetime.date(2027, 1, 1), end_date=datetime.date(2026, 9, 1))
    with pytest.raises(ValidationError) as refused:
        term.full_clean()
    assert refused.value.messages == ["A term must end after it starts."]
    with pytest.raises(IntegrityError), transaction.atomic():
        term.save()
    assert Term.objects.count() == 0


def test_membership_scope_must_match_role(school):
    user = User.objects.create_user(username="someone")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleMembership.objects.create(user=user, role=Role.DISTRICT_ADMIN, school=school)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleMembership.objects.create(user=user, role=Role.TEACHER, district=school.district)
    assert RoleMembership.objects.count() == 0


def test_district_membership_is_unique_even_with_null_school(school):
    user = User.objects.create_user(username="admin")
    RoleMembership.objects.create(user=user, role=Role.DISTRICT_ADMIN, district=school.district)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleMembership.objects.create(user=user, role=Role.DISTRICT_ADMIN, district=school.district)
    assert RoleMembership.objects.count() == 1


def test_school_grades_must_be_ordered(school):
    bad = School(district=school.district, name="Bad", code="bad", grade_low=8, grade_high=3)
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()
    assert refused.value.messages == ["The lowest grade cannot be above the highest grade."]
