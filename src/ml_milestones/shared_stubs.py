"""How a type folder gets the files of templates/_shared: one-line stubs, or `{% extends %}`.

A file every type holds unchanged is a one-line include stub: Copier renders only the type's own
folder (`_subdirectory`), so the file must exist there, and the stub says where its text lives.
SHARED_STUBS go into every type; each subset mapping (TABULAR_MODEL_STUBS) goes only into the
types listed beside it in SUBSET_STUBS, so a module two types share still has one source.

A file whose shape is shared but whose details differ per type (EXTENDED_BASES) is a Jinja child
template in the type folder: `{% extends "templates/_shared/<base>" %}` plus the `{% block %}`s
that type fills, so the type's file reads top to bottom as exactly its own differences.

Run `python -m ml_milestones.shared_stubs` to (re)write the stubs of every type folder, for
example after adding a type or a shared partial; tests/test_template_layout.py checks them.
"""

from pathlib import Path

from .paths import TEMPLATES_DIR, project_types

# Path in the type folder (a Copier template path) -> the partial it includes from _shared/.
SHARED_STUBS: dict[str, str] = {
    "noxfile.py.jinja": "noxfile.py.jinja",
    ".github/workflows/template-update.yml.jinja": "github/workflows/template-update.yml.jinja",
    ".github/workflows/security.yml.jinja": "github/workflows/security.yml.jinja",
    ".github/dependabot.yml.jinja": "github/dependabot.yml",
    ".github/zizmor.yml.jinja": "github/zizmor.yml",
    ".github/ISSUE_TEMPLATE/bug_report.yml.jinja": "github/ISSUE_TEMPLATE/bug_report.yml",
    ".github/ISSUE_TEMPLATE/feature_request.yml.jinja": "github/ISSUE_TEMPLATE/feature_request.yml",
    ".github/ISSUE_TEMPLATE/config.yml.jinja": "github/ISSUE_TEMPLATE/config.yml",
    ".github/pull_request_template.md.jinja": "github/pull_request_template.md",
    ".editorconfig.jinja": "editorconfig",
    "CONTRIBUTING.md.jinja": "CONTRIBUTING.md.jinja",
    ".pre-commit-config.yaml.jinja": "pre-commit-config.yaml.jinja",
    ".dockerignore.jinja": "dockerignore.jinja",
    ".gitignore.jinja": "gitignore.jinja",
    "MODEL_CARD.md.jinja": "MODEL_CARD.md.jinja",
    # The license text is picked by the `license` answer.
    "LICENSE.jinja": '" ~ "licenses/" ~ license ~ ".jinja',
    "{{ _copier_conf.answers_file }}.jinja": "copier-answers.yml.jinja",
    "src/{{ package_name }}/__init__.py.jinja": "src/__init__.py.jinja",
    "src/{{ package_name }}/errors.py.jinja": "src/errors.py",
    "src/{{ package_name }}/settings.py.jinja": "src/settings.py",
    "src/{{ package_name }}/console.py.jinja": "src/console.py",
    "src/{{ package_name }}/tables.py.jinja": "src/tables.py",
    "src/{{ package_name }}/plotting.py.jinja": "src/plotting.py",
    "src/{{ package_name }}/tracking.py.jinja": "src/tracking.py",
    "src/{{ package_name }}/site.py.jinja": "src/site.py",
    "docs/index.md.jinja": "docs/index.md.jinja",
    "docs/site.css.jinja": "docs/site.css",
    ".github/workflows/site.yml.jinja": "github/workflows/site.yml.jinja",
    "tests/fixtures.py.jinja": "tests/fixtures.py.jinja",
    "tests/test_settings.py.jinja": "tests/test_settings.py.jinja",
    "tests/test_site.py.jinja": "tests/test_site.py.jinja",
}

# Path in the type folder -> the shared base template it extends with its own blocks.
EXTENDED_BASES: dict[str, str] = {
    "pyproject.toml.jinja": "pyproject.toml.jinja",
    ".github/workflows/ci.yml.jinja": "github/workflows/ci.yml.jinja",
    "Dockerfile.jinja": "Dockerfile.jinja",
    "README.md.jinja": "README.md.jinja",
}

# The tabular-data model pieces: loading and validation of the bundled sample, the feature schema
# and preprocessing, the metrics, cross-validation, and skops persistence with its trusted-type
# allow-list.
TABULAR_MODEL_STUBS: dict[str, str] = {
    "src/{{ package_name }}/data.py.jinja": "src/data.py",
    "src/{{ package_name }}/features.py.jinja": "src/features.py",
    "src/{{ package_name }}/metrics.py.jinja": "src/metrics.py",
    "src/{{ package_name }}/cross_validation.py.jinja": "src/cross_validation.py",
    "src/{{ package_name }}/persistence.py.jinja": "src/persistence.py.jinja",
    "src/{{ package_name }}/sample_data/heart_disease.csv.jinja": (
        "src/sample_data/heart_disease.csv"
    ),
    "src/{{ package_name }}/sample_data/SOURCE.md.jinja": "src/sample_data/SOURCE.md",
}

# A Markdown report rendered as one self-contained HTML file: the types that write a report.
REPORT_STUBS: dict[str, str] = {
    "src/{{ package_name }}/html_report.py.jinja": "src/html_report.py",
}

# The conventions of a served API: JSON error answers, the request middleware (request id, body
# limit, one log line, metrics), the request metrics and /metrics, JSON logs, gunicorn's
# settings, a loopback server for the tests, and the raw-body fuzz machinery of the route tests.
API_STUBS: dict[str, str] = {
    "src/{{ package_name }}/http_errors.py.jinja": "src/http_errors.py",
    "src/{{ package_name }}/middleware.py.jinja": "src/middleware.py",
    "src/{{ package_name }}/http_metrics.py.jinja": "src/http_metrics.py",
    "src/{{ package_name }}/logs.py.jinja": "src/logs.py",
    "src/{{ package_name }}/server.py.jinja": "src/server.py",
    "src/{{ package_name }}/gunicorn_conf.py.jinja": "src/gunicorn_conf.py",
    "tests/raw_bodies.py.jinja": "tests/raw_bodies.py",
}

# Subset mappings and the project types that include them.
SUBSET_STUBS: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = (
    (("tabular", "service"), TABULAR_MODEL_STUBS),
    (("tabular", "deep-learning", "rag"), REPORT_STUBS),
    (("service", "rag"), API_STUBS),
)


def stubs_for(project_type: str) -> dict[str, str]:
    """Every stub one type holds: the shared ones and those of each subset it belongs to."""
    stubs = dict(SHARED_STUBS)
    for types, subset in SUBSET_STUBS:
        if project_type in types:
            stubs |= subset
    return stubs


def extends_line(base: str) -> str:
    """The first line of a type's file that extends a shared base."""
    return f'{{% extends "templates/_shared/{base}" %}}'


def stub_text(partial: str) -> str:
    """The one line a stub holds. No trailing newline: the partial already ends with one."""
    return f'{{% include "templates/_shared/{partial}" %}}'


def write_stubs(type_dir: Path) -> list[Path]:
    """Write every shared stub into one type folder; return the files that changed."""
    changed = []
    for relpath, partial in stubs_for(type_dir.name).items():
        path = type_dir / relpath
        if not path.exists() or path.read_text() != stub_text(partial):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(stub_text(partial))
            changed.append(path)
        # A script (the noxfile, `./noxfile.py`) stays executable: Copier keeps the stub's mode.
        shared = TEMPLATES_DIR / "_shared" / partial
        if shared.is_file() and shared.read_text().startswith("#!"):
            path.chmod(0o755)
    return changed


if __name__ == "__main__":
    for project_type in project_types():
        for path in write_stubs(TEMPLATES_DIR / project_type):
            print(f"wrote {path.relative_to(TEMPLATES_DIR)}")
