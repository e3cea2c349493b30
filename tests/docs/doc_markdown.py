"""The project's Markdown as the documentation tests read it: the files, their fenced blocks
with the `<!-- snippet: ... -->` comment before each, their headings' anchors, their links.

Standard library only, so any of the project's venvs can import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ANNOTATION = re.compile(r"^<!--\s*snippet:\s*(?P<body>.*?)\s*-->$")


def documents() -> list[Path]:
    """README.md, CONTRIBUTING.md and every page of docs/."""
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Annotation:
    """`<!-- snippet: terminal check=restores (why) -->`: the words, the checks, the reason."""

    text: str
    words: set[str] = field(default_factory=set)
    checks: list[str] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def parse(cls, body: str) -> "Annotation":
        reason = ""
        m = re.search(r"\((.*)\)\s*$", body)
        if m:
            reason, body = m.group(1).strip(), body[: m.start()]
        found = cls(text=body.strip(), reason=reason)
        for token in body.split():
            if token.startswith("check="):
                found.checks.append(token.removeprefix("check="))
            else:
                found.words.add(token)
        return found


@dataclass
class Block:
    """One fenced block: where it is, its language, its text (unindented), its annotation."""

    path: Path
    line: int
    lang: str
    code: str
    annotation: Annotation | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m.group("indent")), m.group("fence")
        lang = m.group("info").strip().split()[0] if m.group("info").strip() else ""
        previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        note = ANNOTATION.match(previous)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        found.append(Block(path, i + 1, lang, "\n".join(body) + "\n",
                           Annotation.parse(note.group("body")) if note else None))
        i = j + 1
    return found


def outside_fences(path: Path) -> list[tuple[int, str]]:
    """The lines that are prose (not inside a fenced block), numbered from 1."""
    out, fence = [], None
    for n, line in enumerate(path.read_text().split("\n"), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group("fence")
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append((n, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every heading outside the fenced blocks."""
    out = []
    for _, line in outside_fences(path):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            out.append((len(m.group(1)), m.group(2)))
    return out


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, text in headings(path):
        base = slug(text)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link in the prose (inline code left out)."""
    out = []
    for n, line in outside_fences(path):
        prose = re.sub(r"`[^`]*`", "", line)
        out.extend((n, m.group("target")) for m in LINK.finditer(prose))
    return out
