"""The repository cites only what a clone of it has.

The project was built from research notes that live outside the repository: a design document
and a folder of reference notes, cited by file name or by section number. A user's clone has
neither, so the facts moved to ``docs/evidence.md`` with their public sources, and code points
there. These tests keep it so, over the package, the tests, the benchmarks, the docs, the
examples, the scripts, CI and the README:

* no file names one of those notes, or cites one of their sections by number;
* every path into this repository that a file names exists (a glob matches something);
* every ``*.md#anchor`` into this repository, and every in-page ``](#anchor)`` of a Markdown
  file, is a heading of that page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_DIRS = ("sg_bitbucket_iac", "tests", "benchmarks", "docs", "examples", "scripts", ".ci")
SCANNED_FILES = ("README.md", "pyproject.toml")
# Generated or installed things the scan never reads (they are not part of a clone).
SKIPPED_PARTS = frozenset({"__pycache__", ".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                           "node_modules", ".terraform", ".pulumi"})
MAX_BYTES = 2_000_000

# The notes a clone lacks, and the ways code used to cite their sections. Written so that this
# file does not match itself (escaped dots, a character class around the slash, a \u escape).
NOTE_CITATIONS: dict[str, re.Pattern[str]] = {
    "the design document": re.compile(r"\bDESIGN\.md\b"),
    "the reference-notes folder": re.compile(r"(?<![\w./-])reference[/]"),
    "a reference note by name": re.compile(
        r"\b(?:bitbucket-api|stackguardian-api|pulumi-dynamic-providers|terraform-provider-python"
        r"|terraform-refined-unknowns)\.md\b|\bstackguardian-bitbucket-guide\.txt\b|\bpulumi_grpc_harness\.py\b"
    ),
    "a section sign": re.compile("\u00a7"),
    "a section of the reference": re.compile(r"\b[Rr]eference section\b|\bthe reference's\b"),
    "a lettered preflight algorithm": re.compile(r"\b[Aa]lgorithm \([abc]\)|\b[Ss]tep \([abc]\)\s?\d"),
}
# A path into this repository: it starts with one of the repository's top-level folders, and is
# not part of a URL or of another repository's path (``owner/repo:path``, ``repo/path``).
REPO_PATH = re.compile(r"(?<![\w./:@-])((?:sg_bitbucket_iac|tests|benchmarks|docs|examples|scripts)/[\w./*-]*)")
MD_ANCHOR = re.compile(r"(?<![\w/:-])((?:[\w.-]+/)*[\w.-]+\.md)#([\w-]+)")
IN_PAGE_ANCHOR = re.compile(r"\]\(#([\w-]+)\)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"


def scanned_files(root: Path = ROOT) -> Iterator[Path]:
    for name in SCANNED_FILES:
        if (root / name).is_file():
            yield root / name
    for folder in SCANNED_DIRS:
        for path in sorted((root / folder).rglob("*")):
            parts = set(path.relative_to(root).parts)
            if path.is_file() and not parts & SKIPPED_PARTS and not any(p.endswith(".egg-info") for p in parts):
                yield path


def text_of(path: Path) -> str | None:
    if path.stat().st_size > MAX_BYTES:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # not a text file


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered), outside fenced code."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        found = None if fenced else HEADING.match(line)
        if found is None:
            continue
        text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", found.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _exists(root: Path, path: str) -> bool:
    if any(part.startswith(".") for part in Path(path).parts):
        return True  # made at run time (a venv, an engine's cache), never part of a clone
    if "*" in path:
        return any(root.glob(path))
    return (root / path).exists()


def findings_in(text: str, name: str, root: Path = ROOT) -> list[Finding]:
    """Everything in ``text`` (the file ``name``, relative to ``root``) that cites what a clone lacks."""
    found: list[Finding] = []
    for what, pattern in NOTE_CITATIONS.items():
        for match in pattern.finditer(text):
            found.append(Finding(name, _line(text, match.start()),
                                 f"cites {what} ({match.group(0)!r}); cite docs/evidence.md instead"))
    for match in REPO_PATH.finditer(text):
        path = match.group(1).rstrip(".,;:")
        if not _exists(root, path):
            found.append(Finding(name, _line(text, match.start()), f"names {path}, which the repository lacks"))
    for match in MD_ANCHOR.finditer(text):
        page, anchor = match.group(1), match.group(2)
        target = root / page if "/" in page else (root / name).parent / page
        if not target.is_file():
            target = root / page
        if target.is_file() and anchor not in github_anchors(target.read_text(encoding="utf-8")):
            found.append(Finding(name, _line(text, match.start()), f"{page} has no heading for #{anchor}"))
    if name.endswith(".md"):
        anchors = github_anchors(text)
        for match in IN_PAGE_ANCHOR.finditer(text):
            anchor = match.group(1)
            if anchor not in anchors:
                found.append(Finding(name, _line(text, match.start()), f"no heading on this page for #{anchor}"))
    return found


def test_the_repository_cites_only_what_a_clone_has() -> None:
    findings: list[Finding] = []
    scanned = 0
    for path in scanned_files():
        text = text_of(path)
        if text is None:
            continue
        scanned += 1
        findings += findings_in(text, path.relative_to(ROOT).as_posix())
    assert scanned > 100, f"only {scanned} files scanned: the scan is looking in the wrong place"
    assert not findings, "citations a clone cannot follow:\n" + "\n".join(map(str, findings))


def test_the_evidence_page_exists_with_its_sections() -> None:
    anchors = github_anchors((ROOT / "docs" / "evidence.md").read_text(encoding="utf-8"))
    for section in ("bitbucket-authentication-per-credential-kind", "what-stackguardians-guide-requires-per-credential",
                    "preflight-algorithm", "app-password-timeline", "stackguardian-wire-format", "emulator-switches",
                    "terraform-refined-unknowns"):
        assert section in anchors


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("see " + "DESIGN" + ".md, section Emulator", "design document"),
        ("# " + "reference" + "/bitbucket-api" + ".txt", "reference-notes folder"),
        ("the table in stackguardian-api" + ".md", "a reference note by name"),
        ("ref \u00a71a: Bearer does not work", "section sign"),
        ("urllib3's Retry with the reference" + "'s 1 s, 2 s, 4 s", "a section of the reference"),
        ("Steps 2-6 of algorithm " + "(a)", "lettered preflight algorithm"),
        ("Step " + "(b)4: the token covers the repositories", "lettered preflight algorithm"),
        ("the rules live in sg_bitbucket_iac/" + "no_such_module.py", "which the repository lacks"),
        ("fixtures in tests/" + "no_such_dir/*.json", "which the repository lacks"),
        ("details: docs/evidence.md#" + "no-such-section", "no heading for #no-such-section"),
        ("[up](#" + "nowhere)\n# Somewhere\n", "no heading on this page for #nowhere"),
    ],
)
def test_each_kind_of_dangling_citation_is_caught(text: str, problem: str) -> None:
    found = findings_in(text, "sample.md")
    assert len(found) == 1 and problem in found[0].problem, found


@pytest.mark.parametrize(
    "text",
    [
        "Wire format: docs/evidence.md#stackguardian-wire-format (sg-sdk-go's `connectors/client.go`).",
        "the copy in `solrevdev/solrevdev.bbx:docs/spec/swagger.json` and `sg-sdk-go/tests/sdk_test.go`",
        "https://github.com/StackGuardian/sg-sdk-go/blob/main/tests/sdk_test.go",
        "a project venv at examples/pulumi/.venv, the subset in tests/bitbucket-openapi-subset.json",
        "tests/e2e/test_pulumi_*.py run the engines; `scripts/install-engines --print-bin`",
        "[the switches](#switches)\n## Switches\n",
        "def reference(self, workspace: Workspace) -> dict: ...  # a repository's `$ref`",
    ],
)
def test_what_a_clone_has_is_not_flagged(text: str) -> None:
    assert findings_in(text, "sample.md") == []
