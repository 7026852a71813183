"""Template structure: every type includes the shared contract; copier.yml lists the types."""

from __future__ import annotations

from ml_milestones.copier_config import load_config, questions
from ml_milestones.paths import TEMPLATES_DIR, project_types
from ml_milestones.shared_stubs import (
    EXTENDED_BASES,
    SHARED_STUBS,
    SUBSET_STUBS,
    extends_line,
    stub_text,
    stubs_for,
)


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


def test_every_type_extends_every_shared_base() -> None:
    """A type's pyproject, README, Dockerfile and CI state only their blocks over the base."""
    for project_type in project_types():
        for relpath, base in EXTENDED_BASES.items():
            child = TEMPLATES_DIR / project_type / relpath
            assert child.is_file(), f"{project_type} lacks {relpath} (extending _shared/{base})"
            assert child.read_text().splitlines()[0] == extends_line(base), (
                f"{child} must start with {extends_line(base)}"
            )


def test_no_type_includes_files_back_from_type_folders() -> None:
    """Shared partials never include a type's own parts: blocks carry the differences."""
    for partial in (TEMPLATES_DIR / "_shared").rglob("*"):
        if partial.is_file():
            assert '"templates/" ~ project_type' not in partial.read_text(), partial


def test_subset_stubs_are_in_exactly_their_types() -> None:
    """A subset stub (say the shared data module) is in the types it lists and in no other."""
    for types, subset in SUBSET_STUBS:
        assert set(types) <= set(project_types()), f"unknown type in {types}"
        for project_type in project_types():
            for relpath, partial in subset.items():
                stub = TEMPLATES_DIR / project_type / relpath
                if project_type in types:
                    assert stub.is_file(), (
                        f"{project_type} lacks {relpath}: run python -m ml_milestones.shared_stubs"
                    )
                    assert stub.read_text() == stub_text(partial), f"{stub} is not the include"
                else:
                    assert not stub.exists(), f"{stub} belongs only to {', '.join(types)}"


def test_every_stub_of_a_type_is_listed() -> None:
    """A one-line include nobody lists would escape the checks above: list it, or drop it."""
    for project_type in project_types():
        listed = set(stubs_for(project_type))
        type_dir = TEMPLATES_DIR / project_type
        for path in type_dir.rglob("*.jinja"):
            if path.read_text().startswith('{% include "templates/_shared/'):
                relpath = path.relative_to(type_dir).as_posix()
                assert relpath in listed, f"{project_type}/{relpath} is an unlisted stub"


def test_shared_partials_exist() -> None:
    partials = [*SHARED_STUBS.values(), *EXTENDED_BASES.values()]
    partials += [partial for _, subset in SUBSET_STUBS for partial in subset.values()]
    for partial in partials:
        if "~" not in partial:  # the license stub picks its file by answer
            assert (TEMPLATES_DIR / "_shared" / partial).is_file(), partial


def test_every_license_choice_has_a_text() -> None:
    for license_id in questions()["license"]["choices"].values():
        assert (TEMPLATES_DIR / "_shared" / "licenses" / f"{license_id}.jinja").is_file()


def test_no_unsafe_copier_features() -> None:
    """_tasks, _migrations and _jinja_extensions would make `copier copy` demand --trust."""
    config = load_config()
    assert not {"_tasks", "_migrations", "_jinja_extensions"} & set(config)
