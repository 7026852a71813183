"""Write the rag template's bundled corpus from the Markdown docs in Click 8.5.1's sdist.

The corpus is ``templates/rag/src/{{ package_name }}/sample_data/corpus/``: Click's user guide
(BSD-3-Clause, Pallets) in four formats, so ingestion meets each of them. Every page is first
cleaned from MyST/Sphinx markup into plain Markdown (roles, directives, ``{eval-rst}`` blocks;
``sample_data/SOURCE.md`` lists the edits), then stored as Markdown, as HTML inside site
boilerplate (navigation, footer, a script: what ingestion must strip), as plain text with Setext
headings, or printed to PDF with headless Chromium.

``click:run`` blocks are executed with click 8.5.1's ``CliRunner``, as pallets-sphinx-themes does
when the published docs are built, so the console output in the pages is Click's own.

Reproduce (needs Debian's ``chromium``; the PDFs differ from the committed ones only in the
creation date Chromium embeds):

    pip download --no-binary :all: --no-deps click==8.5.1 -d /tmp/click
    uv run --with click==8.5.1 --with markdown==3.11.3 \\
        python scripts/make_rag_corpus.py /tmp/click/click-8.5.1.tar.gz
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import io
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
from pathlib import Path

import click
import markdown
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT.joinpath(
    "templates", "rag", "src", "{{ package_name }}", "sample_data", "corpus"
)
SDIST_SHA256 = "9bbfada76703fd1d784b83eea012e3e8c6a001a876543ef104fa56aaaeb072b4"
# Pages with no text of their own: an include of the changelog or the license, a redirect, and
# the API reference that Sphinx autodoc builds from docstrings.
SKIPPED = {"changes.md", "license.md", "setuptools.md", "api.md"}


ROLE = re.compile(
    r"\{(func|class|meth|ref|data|attr|exc|kbd|mod|doc|pep|obj|term|py:[a-z]+)\}`([^`]*)`"
)
LABEL = re.compile(r"^\([A-Za-z0-9_.:-]+\)=\s*$")
DROP_DIRECTIVES = {"currentmodule", "contents", "toctree", "image", "include", "literalinclude"}
ADMONITIONS = {"note", "warning", "tip", "hint", "caution", "important", "seealso"}
VERSION = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
}
WARNINGS: list[str] = []


def role(match: re.Match[str]) -> str:
    kind, text = match.group(1), match.group(2)
    explicit = re.match(r"^(.*?)\s*<([^>]*)>$", text, re.S)
    if kind in {"ref", "doc"}:
        if explicit:
            return explicit.group(1)
        return text.replace("-", " ").replace("_", " ")
    if kind == "pep":
        return f"PEP {text}"
    if kind == "kbd":
        return f"`{text}`"
    if explicit:
        text = explicit.group(1)
    text = text.lstrip("~!")
    if kind in {"func", "meth"} and not text.endswith(")"):
        text += "()"
    return f"`{text}`"


def inline(line: str) -> str:
    return ROLE.sub(role, line)


def rst_inline(text: str) -> str:
    text = re.sub(r":[a-z:]+:`([^`]*)`", lambda m: "`" + m.group(1).lstrip("~!") + "`", text)
    return text.replace("``", "`")


class Runner:
    """Execute click:example / click:run blocks of one page in a shared namespace."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.ns: dict[str, object] = {"click": click}
        self.tmp = tempfile.mkdtemp(prefix="clickdoc-")

    def example(self, code: str) -> None:
        # The docs' own examples, run as the docs build runs them; a failure is reported.
        try:
            with contextlib.chdir(self.tmp), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"<{self.page}>", "exec"), self.ns)
        except Exception as exc:
            WARNINGS.append(f"{self.page}: example failed: {exc!r}")

    def run(self, code: str) -> str | None:
        lines: list[str] = []

        def invoke(
            cli, args=None, prog_name=None, input=None, terminate_input=False, env=None, **extra
        ):
            if env:
                for key, value in sorted(env.items()):
                    lines.append(f"$ export {key}={shlex.quote(value)}")
            args = list(args or [])
            if prog_name is None:
                prog_name = cli.name.replace("_", "-")
            lines.append(f"$ {prog_name} {shlex.join(args)}".rstrip())
            if isinstance(input, (tuple, list)):
                input = "\n".join(input) + "\n"
                if terminate_input:
                    input += "\x04"
            runner = CliRunner(echo_stdin=True)
            result = runner.invoke(
                cli, args=args, input=input, env=env, prog_name=prog_name, **extra
            )
            lines.extend(result.output.splitlines())
            return result

        def println(text: str = "") -> None:
            lines.append(text)

        @contextlib.contextmanager
        def isolated_filesystem():
            with CliRunner().isolated_filesystem():
                yield

        ns = dict(self.ns, invoke=invoke, println=println, isolated_filesystem=isolated_filesystem)
        try:
            with contextlib.chdir(self.tmp), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"<{self.page} run>", "exec"), ns)
        except Exception as exc:
            WARNINGS.append(f"{self.page}: run failed: {exc!r}")
            return None
        return "\n".join(lines).rstrip()


def split_rst(body: str) -> list[tuple[str, str, str]]:
    """Top-level `.. name:: arg` directives with their indented bodies."""
    out: list[tuple[str, str, list[str]]] = []
    for line in body.splitlines():
        m = re.match(r"^\.\. ([a-z:-]+)::\s*(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2), []))
        elif out and (line.startswith((" ", "\t")) or not line.strip()):
            out[-1][2].append(line)
        elif line.strip():
            # prose between directives keeps its place
            if not out or out[-1][0] != "text":
                out.append(("text", "", []))
            out[-1][2].append(line)
    return [(n, a, textwrap.dedent("\n".join(b)).strip("\n")) for n, a, b in out]


def rst_body(text: str) -> list[str]:
    """Nested rst (inside tabs): paragraphs and code-block directives."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^\.\. code-block::\s*(\S*)", lines[i].strip())
        if m:
            j = i + 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
                block.append(lines[j])
                j += 1
            out += [
                "",
                f"```{m.group(1)}",
                textwrap.dedent("\n".join(block)).strip("\n"),
                "```",
                "",
            ]
            i = j
            continue
        out.append(rst_inline(lines[i]))
        i += 1
    return out


def eval_rst(body: str, runner: Runner) -> list[str]:
    out: list[str] = []
    # a list item holding only an autodoc entry: keep the item, the docstring is not in the docs
    item = re.match(r"^\*\s+\.\. auto\w+:: (\S+)", body)
    if item:
        return [f"- `click.{item.group(1)}`", ""]
    for name, arg, text in split_rst(body):
        if name in {"currentmodule", "module"} or name.startswith("auto"):
            continue
        if name == "click:example":
            runner.example(text)
            out += ["```python", text, "```", ""]
        elif name == "click:run":
            shown = runner.run(text)
            if shown:
                out += ["```console", shown, "```", ""]
        elif name == "tabs":
            for tab_name, tab_arg, tab_text in split_rst(text):
                if tab_name != "group-tab":
                    WARNINGS.append(f"{runner.page}: tabs child {tab_name}")
                    continue
                out += [f"**{tab_arg}**", "", *rst_body(tab_text), ""]
        elif name == "list-table":
            rows: list[list[str]] = []
            for line in text.splitlines():
                s = line.strip()
                if s.startswith(":") or not s:
                    continue
                if s.startswith("* - "):
                    rows.append([rst_inline(s[4:])])
                elif s.startswith("- "):
                    rows[-1].append(rst_inline(s[2:]))
            out += [
                f"**{arg}**",
                "",
                "| " + " | ".join(rows[0]) + " |",
                "| " + " | ".join("---" for _ in rows[0]) + " |",
            ]
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]] + [""]
        elif name in ADMONITIONS:
            out += [f"> **{name.capitalize()}**", ">"]
            out += [("> " + rst_inline(line)).rstrip() for line in text.splitlines()] + [""]
        elif name == "text":
            # "# ..." in rst is plain text, not a heading (pallets renders it as a paragraph)
            text = re.sub(r"^#+ ", "", text, flags=re.M)
            out += [rst_inline(text), ""]
        else:
            WARNINGS.append(f"{runner.page}: unknown rst directive {name}")
            out += [rst_inline(text), ""]
    return out


def directive(name: str, arg: str, body: list[str], runner: Runner) -> list[str]:
    # drop MyST option lines (":class: note", or a "---" yaml block)
    if body and body[0].strip() == "---":
        end = body.index("---", 1) if "---" in body[1:] else 0
        body = body[end + 1 :]
    body = [b for b in body if not re.match(r"^\s*:[a-z-]+:", b)]
    text = textwrap.dedent("\n".join(body)).strip("\n")
    if name == "eval-rst":
        return eval_rst(text, runner)
    if name in DROP_DIRECTIVES:
        return []
    if name in VERSION:
        lines = [f"*{VERSION[name]} {arg}.*"]
        if text:
            lines[0] = lines[0] + " " + inline(text.replace("\n", " "))
        return [*lines, ""]
    if name == "code-block":
        return [f"```{arg}", text, "```", ""]
    if name in ADMONITIONS and arg:
        # "```{note} text": the first line of the body sits on the directive line
        text = (arg + "\n" + text).strip("\n")
    if name in ADMONITIONS or name == "admonition":
        title = arg if name == "admonition" else name.capitalize()
        quoted = [f"> **{title}**", ">"]
        quoted += [("> " + inline(line)).rstrip() for line in text.splitlines()]
        return [*quoted, ""]
    WARNINGS.append(f"{runner.page}: unknown MyST directive {name}")
    return [text, ""]


def clean(page: str, source: str) -> str:
    lines = source.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    runner = Runner(page)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(`{3,})(.*)$", line)
        if fence:
            _indent, ticks, info = fence.groups()
            j = i + 1
            while j < len(lines) and not re.match(rf"^\s*{ticks}\s*$", lines[j]):
                j += 1
            body = lines[i + 1 : j]
            m = re.match(r"^\{([a-z-]+)\}\s*(.*)$", info.strip())
            if m:
                out += directive(m.group(1), m.group(2), body, runner)
            else:
                out += lines[i : j + 1]
            i = j + 1
            continue
        if LABEL.match(line) or re.match(r"^\{\.[a-z-]+\}\s*$", line):
            i += 1
            continue
        out.append(inline(line))
        i += 1
    text = "\n".join(out)
    # roles that wrap over a line break: a second pass outside fenced code
    parts = re.split(r"(^```.*?^```$)", text, flags=re.S | re.M)
    text = "".join(p if p.startswith("```") else ROLE.sub(role, p) for p in parts)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text


HTML_PAGES = ["why.md", "quickstart.md", "prompts.md", "testing.md", "utils.md"]
TXT_PAGES = ["handling-files.md", "entry-points.md", "wincmd.md", "virtualenv.md"]
PDF_PAGES = ["click-concepts.md", "support-multiple-versions.md"]

NAV = """    <header class="site-header">
      <a class="brand" href="index.html">Click Documentation (8.5.x)</a>
      <nav class="site-nav" aria-label="Main">
        <ul>
          <li><a href="index.html">Home</a></li>
          <li><a href="quickstart.html">Quickstart</a></li>
          <li><a href="options.html">Options</a></li>
          <li><a href="commands-and-groups.html">Commands and Groups</a></li>
          <li><a href="api.html">API Reference</a></li>
          <li><a href="https://github.com/pallets/click/">Source Code</a></li>
        </ul>
        <form class="search" action="search.html" method="get">
          <input type="search" name="q" placeholder="Search docs">
          <button type="submit">Go</button>
        </form>
      </nav>
    </header>"""

FOOTER = """    <footer class="site-footer">
      <p>&copy; Copyright 2014 Pallets. Created using Sphinx.</p>
      <p><a href="license.html">BSD-3-Clause License</a> &middot;
         <a href="https://palletsprojects.com/donate">Donate</a> &middot;
         <a href="changes.html">Changes</a></p>
    </footer>"""

SCRIPT = """    <script>
      // theme toggle and copy buttons: page chrome, not documentation
      document.addEventListener("DOMContentLoaded", function () {
        var saved = localStorage.getItem("theme") || "auto";
        document.documentElement.dataset.theme = saved;
        document.querySelectorAll("pre").forEach(function (block) {
          var button = document.createElement("button");
          button.className = "copybtn";
          button.textContent = "Copy";
          block.appendChild(button);
        });
      });
    </script>"""

STYLE = """    <style>
      body { font-family: Georgia, serif; max-width: 60rem; margin: 0 auto; color: #222; }
      .site-header, .site-footer { font-family: sans-serif; font-size: 0.9rem; }
      pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
      table { border-collapse: collapse; }
      td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
    </style>"""


def title_of(text: str) -> str:
    return re.search(r"^# (.+)$", text, re.M).group(1).replace("`", "")


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=["fenced_code", "tables"], output_format="html")


def html_page(md: str, name: str) -> str:
    title = title_of(md)
    body = "\n".join("        " + line if line else "" for line in to_html(md).splitlines())
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{html.escape(title)} &mdash; Click Documentation (8.5.x)</title>
    <link rel="stylesheet" href="_static/click.css">
{STYLE}
  </head>
  <body>
{NAV}
    <div class="layout">
      <aside class="sidebar">
        <h3>Navigation</h3>
        <ul>
          <li><a href="index.html">Overview</a></li>
          <li><a href="{name}.html">{html.escape(title)}</a></li>
        </ul>
      </aside>
      <main id="content">
        <article class="document">
{body}
        </article>
      </main>
    </div>
{FOOTER}
{SCRIPT}
  </body>
</html>
"""


def to_txt(md: str) -> str:
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while not lines[j].startswith("```"):
                out.append(("    " + lines[j]).rstrip())
                j += 1
            i = j + 1
            continue
        m = re.match(r"^(#{1,2}) (.+)$", line)
        if m:
            heading = m.group(2).replace("`", "")
            out += [heading, ("=" if m.group(1) == "#" else "-") * len(heading)]
        elif line.startswith("#"):
            raise SystemExit(f"txt page has a heading deeper than 2: {line}")
        else:
            line = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", line)
            line = line.replace("**", "")
            out.append(line)
        i += 1
    return "\n".join(out).rstrip() + "\n"


def print_pdf(md: str, target: Path) -> None:
    page = target.with_suffix(".print.html")
    page.write_text(f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title_of(md))}</title>
<style>body {{ font-family: sans-serif; font-size: 11pt; margin: 1.5cm;
  font-variant-ligatures: none; font-feature-settings: "liga" 0, "clig" 0; }}
pre {{ background: #f4f4f4; padding: 6px; font-size: 9pt; white-space: pre-wrap; }}</style>
</head><body>{to_html(md)}</body></html>""")
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            f"file://{page}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    page.unlink()


def drop_badge_columns(md: str) -> str:
    """The popularity/activity columns of contrib.md are remote badge images: drop them."""
    lines = md.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("|"):
            out.append(lines[i])
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].startswith("|"):
            block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
            i += 1
        bad = {k for row in block for k, c in enumerate(row) if "![" in c}
        for row in block:
            out.append("| " + " | ".join(c for k, c in enumerate(row) if k not in bad) + " |")
    return "\n".join(out) + "\n"


def read_pages(sdist: Path) -> dict[str, str]:
    """docs/*.md of the sdist, by file name, after checking it is the expected archive."""
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist} has SHA-256 {digest}, expected {SDIST_SHA256}: use click 8.5.1.")
    pages = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            is_page = len(parts) == 3 and parts[1] == "docs" and parts[2].endswith(".md")
            if is_page and parts[2] not in SKIPPED:
                handle = archive.extractfile(member)
                if handle is not None:
                    pages[parts[2]] = handle.read().decode("utf-8")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("sdist", type=Path, help="click-8.5.1.tar.gz")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if _click_version() != "8.5.1":
        raise SystemExit("run it with click 8.5.1: the console output in the pages comes from it")
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, source in sorted(read_pages(args.sdist).items()):
        md = clean(name, source)
        if name == "contrib.md":
            md = drop_badge_columns(md)
        stem = Path(name).stem
        if name in HTML_PAGES:
            (out / f"{stem}.html").write_text(html_page(md, stem), encoding="utf-8")
        elif name in TXT_PAGES:
            (out / f"{stem}.txt").write_text(to_txt(md), encoding="utf-8")
        elif name in PDF_PAGES:
            print_pdf(md, (out / f"{stem}.pdf").resolve())
        else:
            (out / name).write_text(md, encoding="utf-8")
    for warning in WARNINGS:
        print(warning)
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


def _click_version() -> str:
    from importlib.metadata import version

    return version("click")


if __name__ == "__main__":
    main()
