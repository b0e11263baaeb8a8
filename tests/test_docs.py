"""The README and the pages of docs/: every relative link and image resolves, anchors included."""

import re
from pathlib import Path

import pytest

from shared_data import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def links(text: str) -> list[str]:
    """Return the targets of the Markdown links and images of ``text`` (code blocks and spans left out)."""
    return _LINK.findall(_CODE.sub("", _FENCE.sub("", text)))


def anchors(text: str) -> set[str]:
    """Return the anchors GitHub gives the headings of ``text`` (lower case, punctuation dropped, - for spaces)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", _FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in found:  # repeated headings get -1, -2, ...
            n += 1
            anchor = f"{slug}-{n}"
        found.add(anchor)
    return found


def test_the_helpers_see_links_and_anchors():
    text = "# A `b` c's\n\n## A `b` c's\n\n[x](y.md#z) `[no](link.md)`\n```\n[no](fence.md)\n```\n![i](p.png)"
    assert links(text) == ["y.md#z", "p.png"]
    assert anchors(text) == {"a-b-cs", "a-b-cs-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    targets = links(page.read_text())
    assert page.name != "README.md" or len(targets) > 5, "the README links its docs pages"
    for target in targets:
        if re.match(r"[a-z]+:", target):  # https:, mailto: ... are not files of this repository
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert broken == [], f"{page.name}: " + "; ".join(broken)


def test_the_readme_is_a_manual_and_the_rest_lives_in_docs():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in readme, f"the README does not link docs/{page.name}"


COMMAND = re.compile(r"^(nb201 |python -m |python3 |bash |pip |--)")


def prose(text: str) -> list[str]:
    """Return the lines of ``text`` outside fenced and indented code blocks."""
    return [line for line in _FENCE.sub("", text).splitlines() if line.strip() and not line.startswith("    ")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_commands_stand_in_code_blocks_not_in_prose(page: Path):
    """A command line (or the tail of one) outside a code block renders as a stray paragraph."""
    assert prose("a\n```\nnb201 list\n```\n    python -m x\nnb201 info") == ["a", "nb201 info"]
    stray = [line for line in prose(page.read_text()) if COMMAND.match(line)]
    assert stray == [], f"{page.name}: {stray}"
