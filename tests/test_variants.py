"""The variant matrix covers every option copier.yml offers, so a new option is tested at once."""

from __future__ import annotations

from ml_milestones.copier_config import questions
from ml_milestones.paths import project_types
from ml_milestones.variants import VARIANTS, get_variant, variant_ids


def test_ids_are_unique_and_readable() -> None:
    ids = variant_ids()
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)
    assert get_variant(ids[0]) is VARIANTS[0]


def test_every_type_has_a_fully_checked_variant() -> None:
    for project_type in project_types():
        assert any(v.project_type == project_type and v.full for v in VARIANTS), project_type


def test_every_choice_value_appears_in_a_variant() -> None:
    """Pairwise coverage: each value of each choice question is rendered at least once."""
    defaults_of = {name: q.get("default") for name, q in questions().items()}
    for name, question in questions().items():
        if name == "project_type" or "choices" not in question:
            continue
        choices = question["choices"]
        values = choices.values() if isinstance(choices, dict) else choices
        used = {v.answers.get(name, defaults_of[name]) for v in VARIANTS}
        missing = set(values) - used
        assert not missing, f"no variant answers {name} with {sorted(missing)}"


def test_every_boolean_option_is_tested_both_ways() -> None:
    for name, question in questions().items():
        if question.get("type") != "bool":
            continue
        when = str(question.get("when", ""))
        variants = [v for v in VARIANTS if v.project_type in when or not when]
        used = {v.answers.get(name, question["default"]) for v in variants}
        assert used == {True, False}, f"{name} is only tested as {used}"


def test_every_type_option_is_varied() -> None:
    """A free-text type option (say fairness_column) is rendered with a non-default value."""
    for name, question in questions().items():
        if question.get("type") != "str" or "when" not in question or "choices" in question:
            continue
        assert any(name in v.answers for v in VARIANTS), f"no variant changes {name}"
