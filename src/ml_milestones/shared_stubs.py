"""The files every project type includes from templates/_shared, as one-line stubs.

Run `python -m ml_milestones.shared_stubs` to (re)write the stubs of every type folder, for
example after adding a type or a shared partial; tests/test_template_layout.py checks them.
"""

from pathlib import Path

from .paths import TEMPLATES_DIR, project_types

# Path in the type folder (a Copier template path) -> the Jinja include it holds.
SHARED_STUBS: dict[str, str] = {
    "pyproject.toml.jinja": '{% include "templates/_shared/pyproject.toml.jinja" %}',
    "noxfile.py.jinja": '{% include "templates/_shared/noxfile.py.jinja" %}',
    ".github/workflows/ci.yml.jinja": '{% include "templates/_shared/github/workflows/ci.yml.jinja" %}',
    ".pre-commit-config.yaml.jinja": '{% include "templates/_shared/pre-commit-config.yaml.jinja" %}',
    "Dockerfile.jinja": '{% include "templates/_shared/Dockerfile.jinja" %}',
    ".dockerignore.jinja": '{% include "templates/_shared/dockerignore.jinja" %}',
    ".gitignore.jinja": '{% include "templates/_shared/gitignore.jinja" %}',
    "README.md.jinja": '{% include "templates/_shared/README.md.jinja" %}',
    "MODEL_CARD.md.jinja": '{% include "templates/_shared/MODEL_CARD.md.jinja" %}',
    "LICENSE.jinja": '{% include "templates/_shared/licenses/" ~ license ~ ".jinja" %}',
    "{{ _copier_conf.answers_file }}.jinja": (
        '{% include "templates/_shared/copier-answers.yml.jinja" %}'
    ),
    "src/{{ package_name }}/__init__.py.jinja": '{% include "templates/_shared/src/__init__.py.jinja" %}',
    "src/{{ package_name }}/tracking.py.jinja": '{% include "templates/_shared/src/tracking.py" %}',
}


def write_stubs(type_dir: Path) -> list[Path]:
    """Write every shared stub into one type folder; return the files that changed."""
    changed = []
    for relpath, include in SHARED_STUBS.items():
        path = type_dir / relpath
        # No trailing newline: the included partial already ends with one.
        if not path.exists() or path.read_text() != include:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(include)
            changed.append(path)
    return changed


if __name__ == "__main__":
    for project_type in project_types():
        for path in write_stubs(TEMPLATES_DIR / project_type):
            print(f"wrote {path.relative_to(TEMPLATES_DIR)}")
