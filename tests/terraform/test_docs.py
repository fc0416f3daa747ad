"""The registry docs under docs/ are what the provider's schema and the examples generate (CI fails otherwise).

The examples themselves are validated with every engine in tests/e2e/test_terraform_matrix.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sg_bitbucket_iac.terraform import docs
from sg_bitbucket_iac.terraform.connector_data_source import ConnectorDataSource
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

REPOSITORY = Path(__file__).resolve().parents[2]
PAGES = (Path("docs/index.md"), Path("docs/resources/connector.md"), Path("docs/data-sources/connector.md"))


def test_the_committed_docs_are_what_the_generator_writes() -> None:
    assert docs.differences(REPOSITORY) == [], "run `python -m sg_bitbucket_iac.terraform.docs` and commit docs/"
    assert set(docs.render(REPOSITORY)) == set(PAGES)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The parts of a checkout the generator reads and writes."""
    shutil.copytree(REPOSITORY / "examples" / "terraform" / "registry", tmp_path / docs.EXAMPLES)
    shutil.copytree(REPOSITORY / "docs", tmp_path / "docs")
    return tmp_path


def test_check_fails_with_a_diff_when_a_page_differs_and_writing_fixes_it(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main(["--root", str(checkout), "--check"]) == 0
    page = checkout / "docs" / "resources" / "connector.md"
    page.write_text(page.read_text().replace("StackGuardian ResourceName.", "A name I wrote by hand."))
    (checkout / "docs" / "index.md").unlink()
    assert docs.main(["--root", str(checkout), "--check"]) == 1
    captured = capsys.readouterr()
    assert "\n-- `name` (String) A name I wrote by hand.\n" in captured.out  # the committed line, removed
    assert "+++ docs/index.md (generated)" in captured.out and "2 page(s) under docs/ differ" in captured.err
    assert page.read_text().count("A name I wrote by hand.") == 1  # --check writes nothing
    assert docs.main(["--root", str(checkout)]) == 0
    assert docs.main(["--root", str(checkout), "--check"]) == 0


def test_an_example_change_is_a_docs_change(checkout: Path) -> None:
    example = checkout / docs.EXAMPLES / "resources" / "sgbitbucket_connector" / "api_token.tf"
    example.write_text(example.read_text().replace('"platform"', '"platform", "new"'))
    assert [d.splitlines()[0] for d in docs.differences(checkout)] == ["--- docs/resources/connector.md (committed)"]


def test_outside_a_checkout_the_generator_says_where_to_run_it(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert "run this in a checkout of sg-bitbucket-iac or pass --root" in capsys.readouterr().err


def schema_lines(page: str) -> dict[str, str]:
    """`name` -> its whole line in the Schema section."""
    return {m.group(1): m.group(0) for m in re.finditer(r"(?m)^- `(\w+)` .*$", page.split("## Schema", 1)[1])}


def group_of(page: str, name: str) -> str:
    schema = page.split("## Schema", 1)[1].split("## Import")[0]
    group = None
    for line in schema.splitlines():
        if line.startswith("### "):
            group = line[4:]
        elif line.startswith(f"- `{name}` "):
            return str(group)
    raise AssertionError(f"{name} not in the schema section")


@pytest.mark.parametrize("page, schema", [
    ("docs/resources/connector.md", ConnectorResource.get_schema()),
    ("docs/data-sources/connector.md", ConnectorDataSource.get_schema()),
    ("docs/index.md", SGBitbucketProvider().get_provider_schema(None)),  # type: ignore[arg-type]
])
def test_every_attribute_is_listed_in_its_group_with_the_schemas_own_description(page: str, schema: object) -> None:
    text = (REPOSITORY / page).read_text()
    lines = schema_lines(text)
    attributes = schema.attributes  # type: ignore[attr-defined]
    assert set(lines) == {a.name for a in attributes}
    for attribute in attributes:
        line = lines[attribute.name]
        assert line.endswith(") " + docs.markdown_text(attribute.description)), line
        assert ("Sensitive" in line.split(")")[0]) == bool(attribute.sensitive)
        expected = "Required" if attribute.required else "Optional" if attribute.optional else "Read-Only"
        assert group_of(text, attribute.name) == expected
    assert text.startswith('---\npage_title: "sgbitbucket') and '\nsubcategory: ""\ndescription: |-\n' in text
    assert "\n## Example Usage\n" in text


def test_the_resource_page_shows_every_auth_type_and_how_to_import() -> None:
    text = (REPOSITORY / "docs/resources/connector.md").read_text()
    for auth_type in ("api_token", "access_token", "app_password"):
        assert f'auth_type = "{auth_type}"' in re.sub(r" +=", " =", text)
    for scope_attribute in ('repository = "infra"', 'project = "PLAT"', 'access_token_scope = "workspace"'):
        assert scope_attribute in re.sub(r" +=", " =", text)
    imports = text.split("## Import", 1)[1]
    assert "import {" in imports and "terraform import sgbitbucket_connector.main bitbucket-main" in imports


def test_descriptions_are_shown_as_text_not_html() -> None:
    assert docs.markdown_text("slug (bitbucket.org/<slug>) `a<b>`") == "slug (bitbucket.org/&lt;slug&gt;) `a<b>`"
    assert docs.type_name(b'["list","string"]') == "List of String" and docs.type_name(b'"bool"') == "Boolean"
