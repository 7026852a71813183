"""Where the template lives: the repository root that holds copier.yml and templates/."""

from pathlib import Path

# The package sits at <repo>/src/ml_milestones, so the repository is two levels up. Copier must be
# given this absolute path (a relative one breaks `copier update` in the rendered projects).
TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = TEMPLATE_ROOT / "templates"
SHARED_DIR = TEMPLATES_DIR / "_shared"


def project_types() -> list[str]:
    """Every project type: each folder of templates/ except the shared partials."""
    return sorted(
        p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")
    )
