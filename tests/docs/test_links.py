"""The docs hold together: every relative link reaches a file (and, into Markdown, a heading),
the README stays a front page, and every section of the task pages is one click from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_markdown import ROOT, anchors, documents, headings, links, outside_fences, slug

# The pages the README maps section by section (the other pages of docs/ it links whole).
MAPPED = ["docs/how-it-decides.md", "docs/deploy.md", "docs/operate.md", "docs/restore.md",
          "docs/reference.md", "docs/upgrading.md", "CONTRIBUTING.md"]
README_MAX_LINES = 250


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_its_target(path: Path):
    broken = []
    for line, target in links(path):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{path.relative_to(ROOT)}:{line}: {target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{path.relative_to(ROOT)}:{line}: {target}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_is_on_one_line(path: Path):
    """A link whose text runs over two lines is one these tests cannot read: keep it whole."""
    split = [f"{path.relative_to(ROOT)}:{n}" for n, line in outside_fences(path)
             if re.match(r"^[^\[`]*\]\(", line)]
    assert not split, f"links split over two lines end at: {split}"


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move the detail to docs/"


def test_every_section_of_the_task_pages_is_one_click_from_the_readme():
    readme = {target for _, target in links(ROOT / "README.md")}
    missing = []
    for page in MAPPED:
        for level, text in headings(ROOT / page):
            if level == 2:
                target = f"{page}#{slug(text)}"
                if target not in readme:
                    missing.append(f"{target} ({text})")
    assert not missing, "the README's Documentation table lacks:\n" + "\n".join(missing)


def test_every_page_of_docs_is_linked_from_the_readme_or_a_page_it_links():
    """A page nobody links is a page nobody reads (JSON and pictures are linked from the text)."""
    reached: set[Path] = set()
    todo = [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in reached:
            continue
        reached.add(page)
        for _, target in links(page):
            file = target.partition("#")[0]
            if file and not target.startswith(("http://", "https://")):
                resolved = (page.parent / file).resolve()
                if resolved.suffix == ".md" and resolved.exists():
                    todo.append(resolved)
    unread = [p.relative_to(ROOT) for p in documents() if p not in reached]
    assert not unread, f"not reachable from README.md: {unread}"
