"""The prerequisite graph stays a DAG, and says clearly which edge it refused and why."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mastery.models import Competency, Framework, Prerequisite
from mastery.services import prerequisite_add


@pytest.fixture
def chain(db):
    """Competencies A, B, C, D with edges A before B, B before C (D unconnected)."""
    framework = Framework.objects.create(name="Math", subject="Mathematics", grade_low=3, grade_high=5)
    comps = {
        code: Competency.objects.create(framework=framework, code=code, statement=f"Skill {code}", grade_level=4)
        for code in "ABCD"
    }
    prerequisite_add(competency=comps["B"], prerequisite=comps["A"])
    prerequisite_add(competency=comps["C"], prerequisite=comps["B"])
    return comps


def test_acyclic_edges_are_added(chain):
    prerequisite_add(competency=chain["D"], prerequisite=chain["C"])
    prerequisite_add(competency=chain["C"], prerequisite=chain["A"])  # a shortcut is not a cycle
    edges = set(Prerequisite.objects.values_list("prerequisite__code", "competency__code"))
    assert edges == {("A", "B"), ("B", "C"), ("C", "D"), ("A", "C")}


def test_a_cycle_is_refused_naming_the_competencies_and_nothing_is_saved(chain):
    with pytest.raises(ValidationError) as refused:
        prerequisite_add(competency=chain["A"], prerequisite=chain["C"])
    assert refused.value.message_dict == {
        "prerequisite": ["Making C a prerequisite of A would create a cycle (A needs C needs B needs A)."]
    }
    assert Prerequisite.objects.count() == 2


def test_a_two_node_cycle_is_refused(chain):
    with pytest.raises(ValidationError) as refused:
        prerequisite_add(competency=chain["A"], prerequisite=chain["B"])
    assert refused.value.message_dict["prerequisite"] == [
        "Making B a prerequisite of A would create a cycle (A needs B needs A)."
    ]
    assert Prerequisite.objects.count() == 2


def test_self_edge_is_refused_by_validation_and_by_the_database(chain):
    with pytest.raises(ValidationError) as refused:
        prerequisite_add(competency=chain["D"], prerequisite=chain["D"])
    assert "D cannot be a prerequisite of itself." in refused.value.message_dict["prerequisite"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Prerequisite.objects.create(competency=chain["D"], prerequisite=chain["D"])
    assert Prerequisite.objects.count() == 2


def test_duplicate_edge_is_refused_naming_both_ends(chain):
    with pytest.raises(ValidationError) as refused:
        prerequisite_add(competency=chain["B"], prerequisite=chain["A"])
    assert refused.value.messages == [
        "A prerequisite with competency “B: Skill B” and prerequisite “A: Skill A” already exists."
    ]
    assert Prerequisite.objects.count() == 2
