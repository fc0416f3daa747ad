"""The registry-style docs are made from the schema, and the committed ones are current."""

from __future__ import annotations

import json
from pathlib import Path

from sg_bitbucket_iac.pulumi.native import docs, schema

REPO = Path(__file__).resolve().parents[3]


def test_committed_docs_are_what_the_schema_makes() -> None:
    pages = docs.pages(json.loads((REPO / "sdk" / "schema.json").read_text()))
    for relative, text in pages.items():
        assert (REPO / "docs" / "pulumi" / relative).read_text() == text, f"docs/pulumi/{relative} is stale"
    assert sorted(p.relative_to(REPO / "docs" / "pulumi").as_posix()
                  for p in (REPO / "docs" / "pulumi").rglob("*.md")) == sorted(pages)


def test_every_property_has_a_row_and_cells_are_escaped() -> None:
    spec = schema.package_schema()
    page = docs.resource_page(spec)
    for name in spec["resources"][schema.RESOURCE_TOKEN]["inputProperties"]:
        assert f"| `{name}` |" in page
    assert docs._cell("a | b\nc") == "a \\| b c"


def test_the_command_writes_the_pages(tmp_path: Path) -> None:
    source = tmp_path / "schema.json"
    source.write_text(schema.schema_json())
    assert docs.main([str(source), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "api" / "connector.md").is_file()
    assert docs.main([]) == 2
