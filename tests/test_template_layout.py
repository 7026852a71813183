"""Template structure: every type includes the shared contract; copier.yml lists the types."""

from __future__ import annotations

from ml_milestones.copier_config import load_config, questions
from ml_milestones.paths import TEMPLATES_DIR, project_types
from ml_milestones.shared_stubs import SHARED_STUBS, stub_text


def test_project_type_offers_exactly_the_type_folders() -> None:
    choices = questions()["project_type"]["choices"]
    assert isinstance(choices, dict)
    assert sorted(choices.values()) == project_types()


def test_every_type_includes_every_shared_partial() -> None:
    for project_type in project_types():
        for relpath, partial in SHARED_STUBS.items():
            stub = TEMPLATES_DIR / project_type / relpath
            assert stub.is_file(), (
                f"{project_type} lacks {relpath}: run python -m ml_milestones.shared_stubs"
            )
            assert stub.read_text() == stub_text(partial), f"{stub} is not the one-line include"


def test_shared_partials_exist() -> None:
    for partial in SHARED_STUBS.values():
        if "~" not in partial:  # the license stub picks its file by answer
            assert (TEMPLATES_DIR / "_shared" / partial).is_file(), partial


def test_every_license_choice_has_a_text() -> None:
    for license_id in questions()["license"]["choices"].values():
        assert (TEMPLATES_DIR / "_shared" / "licenses" / f"{license_id}.jinja").is_file()


def test_no_unsafe_copier_features() -> None:
    """_tasks, _migrations and _jinja_extensions would make `copier copy` demand --trust."""
    config = load_config()
    assert not {"_tasks", "_migrations", "_jinja_extensions"} & set(config)
