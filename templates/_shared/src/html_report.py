"""What every type with a report shares: where the report goes, the package metadata its model
card quotes, and the Markdown report as one self-contained HTML file for mail or archive."""

import base64
import re
from importlib.metadata import metadata
from pathlib import Path

import markdown

from . import PROJECT_NAME
from .settings import ProjectPaths

# A Markdown image of a PNG next to the report: `![caption](figures/roc.png)`.
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+\.png)\)")
# A paragraph of figures becomes a grid, two abreast on a wide screen, one on a narrow one; a
# table wider than the page scrolls inside itself.
STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2rem auto;
  padding: 0 1.5rem; line-height: 1.5; color: #1f2328; }
h1 { margin-bottom: 1.5rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; display: block;
  max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f6f8fa; }
p:has(> img) { display: grid; gap: 1rem;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); align-items: start; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
code { font-size: 0.85em; background: #f6f8fa; padding: 0.1em 0.3em; border-radius: 4px; }
"""


class ReportPaths(ProjectPaths):
    """The shared folders, plus the report and the figures it shows."""

    @property
    def figures_dir(self) -> Path:
        return self.reports_dir / "figures"

    @property
    def report_md(self) -> Path:
        return self.reports_dir / "report.md"

    @property
    def report_html(self) -> Path:
        return self.reports_dir / "report.html"


def package_field(name: str, default: str) -> str:
    """A field of the installed package's metadata (`Summary`, `Author-email`), which
    pyproject.toml sets: the model card quotes the project's own words; `default` if unset."""
    values = metadata(PROJECT_NAME).get_all(name)
    return str(values[0]) if values else default


def standalone_html(report: str, base: Path, title: str) -> str:
    """The Markdown `report` as one HTML page; its PNG figures, relative to `base`, inlined."""

    def embed(match: re.Match[str]) -> str:
        encoded = base64.b64encode((base / match[2]).read_bytes()).decode("ascii")
        return f"![{match[1]}](data:image/png;base64,{encoded})"

    body = markdown.markdown(IMAGE.sub(embed, report), extensions=["tables"])
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>\n{STYLE}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
