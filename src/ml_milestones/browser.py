"""Open a generated project's HTML pages in a real headless browser, as a reader would.

A self-contained dashboard can be valid HTML and still show a reader nothing: an inlined figure
whose base64 is cut short decodes to a broken image, a chart script can throw. So the pages are
loaded by Debian's Chromium through chromedriver (driven by selenium), and a page passes when
every image decoded (`naturalWidth > 0`), every chart (image, SVG or canvas) takes up space on
the page, and the browser's console logged no error. A screenshot of each page is kept for a
person to look at.

Needs `apt-get install chromium chromium-driver` (`.ci/run` installs them); `unavailable()` says
why the browser cannot run, so tests skip with that reason instead of failing.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Debian's names; other systems' packages often call the browser chromium-browser.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"
WINDOW = (1280, 2000)

# Every image and chart on the page, with what the checks need: whether it decoded, its size.
_FIGURES_SCRIPT = """
const figures = [];
for (const image of document.images) {
  const box = image.getBoundingClientRect();
  figures.push({kind: "img", source: (image.currentSrc || image.src || "").slice(0, 80),
    complete: image.complete, naturalWidth: image.naturalWidth,
    width: box.width, height: box.height});
}
for (const chart of document.querySelectorAll("svg, canvas")) {
  if (chart.closest("svg") !== chart && chart.tagName.toLowerCase() === "svg") continue;
  const box = chart.getBoundingClientRect();
  figures.push({kind: chart.tagName.toLowerCase(), source: chart.id || "", complete: true,
    naturalWidth: box.width, width: box.width, height: box.height});
}
return figures;
"""


@dataclass
class PageReport:
    """What the browser saw on one page."""

    page: Path
    title: str = ""
    figures: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def broken_images(self) -> list[str]:
        return [f["source"] for f in self.figures if f["kind"] == "img" and not f["naturalWidth"]]

    @property
    def empty_charts(self) -> list[str]:
        """Figures laid out with no area: hidden, collapsed, or never drawn."""
        return [
            f"{f['kind']} {f['source']}".strip()
            for f in self.figures
            if not (f["width"] > 0 and f["height"] > 0)
        ]

    def problems(self, *, min_figures: int = 1) -> list[str]:
        found = []
        if len(self.figures) < min_figures:
            found.append(f"{self.page.name}: {len(self.figures)} figures, expected {min_figures}+")
        found += [f"{self.page.name}: image did not decode: {s}" for s in self.broken_images]
        found += [f"{self.page.name}: chart takes no space: {s}" for s in self.empty_charts]
        found += [f"{self.page.name}: console error: {e}" for e in self.console_errors]
        return found


def _which_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def unavailable() -> str | None:
    """Why pages cannot be opened here (None when they can)."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (it is in this repository's test dependencies)"
    if _which_browser() is None:
        return "no Chromium on PATH: apt-get install chromium chromium-driver (.ci/run does)"
    if shutil.which(DRIVER) is None:
        return "no chromedriver on PATH: apt-get install chromium-driver (.ci/run does)"
    return None


def open_pages(pages: list[Path], screenshots: Path | None = None) -> list[PageReport]:
    """Load each page from disk in one headless Chromium; report what it showed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(_which_browser())
    for argument in (
        "--headless=new",
        # Root in a container has no user namespace for Chromium's sandbox.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    # The page's console, errors included, comes back through the driver's log.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given, so selenium never looks for (or downloads) one.
    service = Service(executable_path=str(shutil.which(DRIVER)))
    driver = webdriver.Chrome(options=options, service=service)
    reports = []
    try:
        driver.set_page_load_timeout(60)
        for page in pages:
            driver.get(page.resolve().as_uri())
            # Images decode asynchronously: wait until every one has finished, loaded or not.
            driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "Promise.all(Array.from(document.images, i => i.complete ? null :"
                " new Promise(r => { i.onload = i.onerror = r; }))).then(() => done(true));"
            )
            report = PageReport(page, title=driver.title)
            report.figures = list(driver.execute_script(_FIGURES_SCRIPT))
            report.console_errors = [
                str(entry.get("message"))
                # selenium leaves get_log unannotated; it returns the log's entries as dicts.
                for entry in driver.get_log("browser")  # type: ignore[no-untyped-call]
                if entry.get("level") == "SEVERE"
            ]
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                height = driver.execute_script("return document.documentElement.scrollHeight")
                # The window's height includes the browser's own bars: a margin keeps the page's
                # end in the picture.
                driver.set_window_size(WINDOW[0], max(WINDOW[1], min(int(height) + 300, 12000)))
                report.screenshot = screenshots / f"{page.stem}.png"
                driver.save_screenshot(str(report.screenshot))
                driver.set_window_size(*WINDOW)
            reports.append(report)
    finally:
        driver.quit()
    return reports
