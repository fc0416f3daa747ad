"""Malformed definitions: each gives a clear `path: message` on stderr, exit 1, and sends nothing.

Run in-process (fast) through `apply --auto-approve`, the command that would write the most: the
emulator's request counter proves not even a read reached StackGuardian.
"""

from __future__ import annotations

import textwrap

import pytest
from cli_helpers import END_OF_SUPPORT, InProcess

GOOD_AUTH = """\
    auth:
      type: api_token
      username: alice
      email: alice@acme.io
      api_token: ${env:TOK_MAIN}
"""


def connector(name: str = "main", extra: str = "", auth: str = GOOD_AUTH) -> str:
    return f"  - name: {name}\n    workspace: acme\n{extra}{auth}"


def doc(*connectors: str, top: str = "") -> str:
    return top + "connectors:\n" + "".join(connectors)


# (case id, file text, fragments every one of which must appear in stderr)
CASES: list[tuple[str, str, list[str]]] = [
    ("yaml_syntax_unclosed_flow", "connectors:\n  - name: [unclosed\n    workspace: acme\n",
     ["connectors.yaml:", "YAML syntax error"]),
    ("yaml_syntax_tab_indent", "connectors:\n\t- name: x\n",
     ["YAML syntax error", "connectors.yaml:2:", "that is a tab: YAML indents with spaces only"]),
    ("yaml_syntax_tab_inside", "connectors:\n  - name: x\n\tworkspace: acme\n",
     ["connectors.yaml:3:", "that is a tab: YAML indents with spaces only"]),
    ("yaml_syntax_bad_mapping", "org: acme\nconnectors: - name: x\n", ["YAML syntax error", "connectors.yaml:2:"]),
    ("yaml_two_documents", doc(connector()) + "---\n" + doc(connector()), ["YAML syntax error", "single document"]),
    ("empty_file", "", ["the file is empty"]),
    ("top_level_is_a_list", "- name: x\n", ["the file must be a mapping with `connectors:`"]),
    ("top_level_unknown_key", doc(connector(), top="conectors_extra: 1\nprun: true\n"),
     ["prun: unknown key `prun`; did you mean `prune`?", "conectors_extra: unknown key"]),
    ("top_level_typo_connectors", "org: acme\nconectors: []\n",
     ["conectors: unknown key `conectors`; did you mean `connectors`?", "connectors: required"]),
    ("connectors_not_a_list", "connectors:\n  main: {}\n", ["connectors: must be a list of connectors"]),
    ("connector_not_a_mapping", "connectors:\n  - just-a-name\n", ["connectors[0]: a connector is a mapping"]),
    ("connector_unknown_key", doc(connector(extra="    descripton: x\n")),
     ["connectors[0].descripton: unknown key `descripton`; did you mean `description`?"]),
    ("connector_cli_key_typo", doc(connector(extra="    preflght: false\n")),
     ["connectors[0].preflght: unknown key `preflght`; did you mean `preflight`?"]),
    ("auth_unknown_key", doc(connector("a"), connector("b", auth=GOOD_AUTH.replace("email:", "emial:"))),
     ["connectors[1].auth.emial: unknown key `emial`; did you mean `email`?", "connectors[1].auth.email: required"]),
    ("auth_field_of_another_type", doc(connector(auth=GOOD_AUTH + "      repository: infra\n")),
     ["connectors[0].auth.repository: `repository` belongs to auth type access_token"]),
    ("name_not_a_string", doc(connector(name="123")), ["connectors[0].name: must be a string"]),
    ("username_yaml_boolean", doc(connector(auth=GOOD_AUTH.replace("username: alice", "username: yes"))),
     ["connectors[0].auth.username: must be a string"]),
    ("tags_not_a_list", doc(connector(extra="    tags: platform\n")), ["connectors[0].tags: tags is a list"]),
    ("tags_item_not_a_string", doc(connector(extra="    tags: [1, ok]\n")),
     ["connectors[0].tags[0]: must be a string"]),
    ("prune_not_a_boolean", doc(connector(), top='prune: "yes"\n'), ["prune: must be true or false"]),
    ("preflight_not_a_boolean", doc(connector(extra="    preflight: sometimes\n")),
     ["connectors[0].preflight: must be true or false"]),
    ("org_not_a_string", doc(connector(), top="org: 42\n"), ["org: must be the StackGuardian org name"]),
    ("missing_name", "connectors:\n  - workspace: acme\n" + GOOD_AUTH, ["connectors[0].name: required"]),
    ("missing_workspace", "connectors:\n  - name: x\n" + GOOD_AUTH, ["connectors[0].workspace: required"]),
    ("missing_auth", "connectors:\n  - name: x\n    workspace: acme\n", ["connectors[0].auth: required"]),
    ("missing_auth_type", doc(connector(auth="    auth:\n      username: alice\n")),
     ["connectors[0].auth.type: required"]),
    ("unknown_auth_type", doc(connector(auth=GOOD_AUTH.replace("type: api_token", "type: api_tokn"))),
     ["connectors[0].auth.type: unknown auth type 'api_tokn'; did you mean `api_token`?"]),
    ("missing_email_for_api_token", doc(connector(auth=GOOD_AUTH.replace("      email: alice@acme.io\n", ""))),
     ["connectors[0].auth.email: required for auth type api_token"]),
    ("email_without_at", doc(connector(auth=GOOD_AUTH.replace("alice@acme.io", "alice"))),
     ["connectors[0].auth.email: API tokens authenticate with your Atlassian account email"]),
    ("username_is_an_email", doc(connector(auth=GOOD_AUTH.replace("username: alice", "username: a@acme.io"))),
     ["connectors[0].auth.username: this is your Bitbucket username, not an email"]),
    ("repository_scope_without_repository",
     doc(connector(auth="    auth:\n      type: access_token\n      scope: repository\n"
                        "      access_token: ${file:infra.token}\n")),
     ["connectors[0].auth.repository: scope 'repository' needs `repository`"]),
    ("workspace_not_a_slug", doc(connector().replace("workspace: acme", "workspace: Not A Slug")),
     ["connectors[0].workspace: give the Bitbucket workspace slug"]),
    ("duplicate_yaml_key", doc(connector(extra="    description: a\n    description: b\n")),
     ["connectors[0].description: duplicate key `description`"]),
    ("duplicate_names", doc(connector("same"), connector("same")),
     ["connectors[1].name: duplicate name 'same' (also connectors[0])"]),
    ("duplicate_explicit_ids", doc(connector("a", extra="    id: one\n"), connector("b", extra="    id: one\n")),
     ["connectors[1].id: duplicate Id 'one' (also connectors[0])"]),
    ("duplicate_derived_ids", doc(connector("a-b"), connector("a_b")),
     ["connectors[1].name: derives the Id 'a_b' already used by connectors[0]"]),
    ("plaintext_secret", doc(connector(auth=GOOD_AUTH.replace("${env:TOK_MAIN}", "{sentinel}-plaintext"))),
     ["connectors[0].auth.api_token: plaintext secret refused", "--allow-plaintext-secrets"]),
    ("unset_env_reference", doc(connector(auth=GOOD_AUTH.replace("TOK_MAIN", "NOT_SET_ANYWHERE"))),
     ["connectors[0].auth.api_token: cannot resolve ${env:NOT_SET_ANYWHERE}: environment variable "
      "NOT_SET_ANYWHERE is not set"]),
    ("missing_file_reference", doc(connector(auth=GOOD_AUTH.replace("${env:TOK_MAIN}", "${file:nope.token}"))),
     ["connectors[0].auth.api_token: cannot resolve ${file:nope.token}", "nope.token"]),
    ("malformed_reference", doc(connector(auth=GOOD_AUTH.replace("${env:TOK_MAIN}", "${vault:secret/x}"))),
     ["connectors[0].auth.api_token: not a valid secret reference"]),
    ("secret_not_a_string", doc(connector(auth=GOOD_AUTH.replace("${env:TOK_MAIN}", "12345"))),
     ["connectors[0].auth.api_token: must be a string"]),
]


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_definitions_are_refused_before_anything_is_sent(
    inproc: InProcess, text: str, expected: list[str]
) -> None:
    path = inproc.write("connectors.yaml", text.replace("{sentinel}", inproc.sentinel))
    result = inproc.cli("apply", "-f", str(path), "--auto-approve")
    assert result.code == 1, result.output
    assert result.stdout == ""
    for fragment in expected:
        assert fragment in result.stderr, result.stderr
    assert all(line.startswith("error: ") or "problem(s)" in line for line in result.stderr.splitlines())
    assert inproc.sentinel not in result.output
    assert inproc.sg_requests() == 0  # validated whole before any request, read or write


def test_every_problem_of_a_file_is_reported_at_once_with_its_line(inproc: InProcess) -> None:
    text = doc(
        connector("a", extra="    descripton: x\n"),
        connector("b", auth=GOOD_AUTH.replace("email:", "emial:")),
        connector("c", auth=GOOD_AUTH.replace("TOK_MAIN", "MISSING_VAR")),
        top="prun: true\n",
    )
    path = inproc.write("connectors.yaml", text)
    result = inproc.cli("plan", "-f", str(path))
    assert result.code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5, result.stderr  # prun, descripton, emial, missing email, unresolved reference
    assert "prun: unknown key `prun`; did you mean `prune`? (line 1)" in result.stderr
    assert "connectors[1].auth.emial" in result.stderr and "(line " in result.stderr
    assert inproc.sg_requests() == 0


def test_app_password_is_refused_from_2026_06_09_with_the_migrate_command(inproc: InProcess) -> None:
    path = inproc.write("connectors.yaml", textwrap.dedent("""\
        connectors:
          - name: legacy
            workspace: acme
            auth: {type: app_password, username: bob, app_password: "${env:TOK_MAIN}"}
        """))
    for command in (["validate", "-f", str(path)], ["plan", "-f", str(path)],
                    ["apply", "-f", str(path), "--auto-approve"]):
        result = inproc.cli(*command, SG_BITBUCKET_IAC_NOW=END_OF_SUPPORT)
        assert result.code == 1, result.output
        assert "connectors[0].auth.type: StackGuardian ended support for app passwords on 2026-06-09" in result.stderr
        assert "sg-bitbucket migrate --connector legacy" in result.stderr
    # The day before, it is allowed with a deprecation warning.
    result = inproc.cli("plan", "-f", str(path), SG_BITBUCKET_IAC_NOW="2026-06-08T23:00:00Z")
    assert result.code == 0, result.output
    assert "deprecated" in result.stdout
    assert inproc.sg_writes() == 0


def test_plaintext_secret_is_accepted_only_when_allowed(inproc: InProcess) -> None:
    path = inproc.write("connectors.yaml", doc(connector(auth=GOOD_AUTH.replace("${env:TOK_MAIN}",
                                                                                inproc.sentinel + "-main-api-token"))))
    refused = inproc.cli("plan", "-f", str(path))
    assert refused.code == 1 and "plaintext secret refused" in refused.stderr
    allowed = inproc.cli("plan", "-f", str(path), "--allow-plaintext-secrets", "--json")
    assert allowed.code == 0, allowed.output
    assert allowed.json()["summary"]["create"] == 1
    assert inproc.sentinel not in refused.output + allowed.output


def test_file_references_are_relative_to_the_definitions_file(inproc: InProcess) -> None:
    nested = inproc.tmp / "team"
    nested.mkdir()
    (nested / "secrets").mkdir()
    (nested / "secrets" / "infra.token").write_text((inproc.tmp / "infra.token").read_text())
    path = nested / "connectors.yaml"
    path.write_text(doc(connector(auth="    auth:\n      type: access_token\n      repository: infra\n"
                                       "      access_token: ${file:secrets/infra.token}\n")))
    result = inproc.cli("validate", "-f", str(path), "--json")
    assert result.code == 0, result.output
    assert result.json()["connectors"][0]["preflight"]["status"] == "PASS"


def test_unknown_connector_name_for_validate(inproc: InProcess) -> None:
    path = inproc.write("connectors.yaml", doc(connector("bitbucket-main")))
    result = inproc.cli("validate", "-f", str(path), "bitbucket-mian")
    assert result.code == 1
    assert "bitbucket-mian: no connector with this name or Id" in result.stderr
    assert "did you mean `bitbucket-main`?" in result.stderr
