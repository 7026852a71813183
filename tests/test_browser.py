"""The headless-browser checker (ml_milestones.browser) on pages made here: it must pass a page
whose figures show, and name each way a page can show a reader nothing.

The rag projects' own dashboard and report go through the same checker after their demo, in the
generated-CI test (tests/test_generated_ci.py).
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest

from ml_milestones import browser

REASON = browser.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))


def png(width: int = 4, height: int = 3) -> bytes:
    """A real, decodable PNG: grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def page(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    head = f"<head><title>{name}</title></head>"
    path.write_text(f"<!DOCTYPE html><html>{head}<body>{body}</body></html>")
    return path


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_a_page_whose_figures_show_passes(tmp_path: Path) -> None:
    good = page(
        tmp_path,
        "good.html",
        f'<img src="{data_uri(png())}" width="40">'
        '<svg width="50" height="20"><rect width="50" height="20"/></svg>',
    )
    [report] = browser.open_pages([good], screenshots=tmp_path / "shots")
    assert report.problems(min_figures=2) == []
    assert report.title == "good.html"
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0


def test_every_way_a_page_shows_nothing_is_named(tmp_path: Path) -> None:
    truncated = data_uri(png())[:60]
    bad = page(
        tmp_path,
        "bad.html",
        f'<img src="{truncated}"><img src="figures/missing.png">'
        '<svg width="0" height="0"></svg>'
        '<script>console.error("chart data failed to load"); undefined_function();</script>',
    )
    [report] = browser.open_pages([bad])
    problems = "\n".join(report.problems())
    assert len(report.broken_images) == 2, problems
    assert "chart takes no space: svg" in problems
    assert "chart data failed to load" in problems
    assert "undefined_function is not defined" in problems
    # The missing file is also a console error (a failed load), named by its path.
    assert "missing.png" in problems


def test_a_page_without_figures_is_reported(tmp_path: Path) -> None:
    [report] = browser.open_pages([page(tmp_path, "empty.html", "<p>No charts.</p>")])
    assert report.problems(min_figures=1) == ["empty.html: 0 figures, expected 1+"]
