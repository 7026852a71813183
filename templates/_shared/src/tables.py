"""Tables as Markdown (for reports) and CSV (for spreadsheets)."""

import math
import re
from pathlib import Path

import pandas as pd

# What Markdown could read as emphasis or a link: `*`, brackets (a quartile such as
# "(54.0, 61.0]"), and `_` at the edge of a word ("missing_%"). Escaped the way mdformat writes
# them, so a written report is already formatted.
MARKUP = re.compile(r"[*\[\]]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def escape(text: str) -> str:
    """Text for a Markdown table cell: shown as written, never read as markup."""
    return MARKUP.sub(lambda match: "\\" + match.group(0), text.replace("|", "\\|"))


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table; floats are rounded, the index is not shown."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}f}"
        return escape(str(value))

    header = "| " + " | ".join(escape(str(column)) for column in table.columns) + " |"
    rule = "| " + " | ".join("--" for _ in table.columns) + " |"
    rows = [
        "| " + " | ".join(cell(value) for value in row) + " |" for row in table.itertuples(False)
    ]
    return "\n".join([header, rule, *rows]) + "\n"


def write(table: pd.DataFrame, markdown_path: Path, csv_path: Path | None = None) -> list[Path]:
    """Write a table as Markdown, and as CSV when a path is given."""
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(to_markdown(table))
    if csv_path is None:
        return [markdown_path]
    table.to_csv(csv_path, index=False)
    return [markdown_path, csv_path]
