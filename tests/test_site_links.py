"""The independent dead-link reader behind check MM105, on sites written by hand."""

from __future__ import annotations

from pathlib import Path

from ml_milestones.site_links import dead_links


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_site_whose_links_all_lead_somewhere_passes(tmp_path: Path) -> None:
    write(
        tmp_path / "index.html", '<a href="reports/r.html#roc">r</a><a href="#top" id="top">^</a>'
    )
    write(tmp_path / "reports" / "r.html", '<h2 id="roc">ROC</h2><img src="figures/roc.png">')
    write(tmp_path / "reports" / "figures" / "roc.png", "png")

    assert dead_links(tmp_path) == []


def test_missing_files_anchors_and_escapes_are_named(tmp_path: Path) -> None:
    write(
        tmp_path / "index.html",
        '<a href="gone.html">g</a><a href="page.html#nowhere">p</a><img src="../outside.png">'
        '<a href="mailto:a@b.org">m</a><img src="data:image/png;base64,AA==">'
        '<a href="https://example.org">e</a>',
    )
    write(tmp_path / "page.html", "<p>no anchors</p>")
    write(tmp_path.parent / "outside.png", "png")

    assert dead_links(tmp_path) == [
        "index.html: gone.html (no such file)",
        "index.html: page.html#nowhere (no such anchor)",
        "index.html: ../outside.png (no such file)",
    ]


def test_a_site_without_a_home_page_fails(tmp_path: Path) -> None:
    write(tmp_path / "README.html", "<p>hello</p>")

    assert dead_links(tmp_path) == [
        f"{tmp_path.resolve()}/index.html: missing (the site has no home page)"
    ]
