"""`${aws-sm:...}` and `${aws-ssm:...}` references through the CLI, on moto (in-process: mock_aws patches boto3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import InProcess
from moto import mock_aws

DEFINITIONS = """\
connectors:
  - name: from-secrets-manager-json
    workspace: acme
    auth: {type: access_token, repository: infra, access_token: "${aws-sm:bitbucket/infra#token}"}
  - name: from-secrets-manager-plain
    workspace: acme
    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${aws-sm:bitbucket/main}"}
  - name: from-parameter-store
    workspace: acme
    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${aws-ssm:/bitbucket/main}"}
"""


@pytest.fixture
def aws(inproc: InProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        import boto3

        main_token = f"{inproc.sentinel}-main-api-token"
        infra_token = (inproc.tmp / "infra.token").read_text().strip()
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(Name="bitbucket/infra", SecretString=json.dumps({"token": infra_token}))
        secrets.create_secret(Name="bitbucket/main", SecretString=main_token)
        boto3.client("ssm").put_parameter(Name="/bitbucket/main", Value=main_token, Type="SecureString")
        yield


def test_aws_references_resolve_and_apply(inproc: InProcess, aws: None) -> None:
    path = inproc.write("connectors.yaml", DEFINITIONS)
    validated = inproc.cli("validate", "-f", str(path), "--json")
    assert validated.code == 0, validated.output
    assert [c["preflight"]["status"] for c in validated.json()["connectors"]] == ["PASS", "PASS", "PASS"]
    applied = inproc.cli("apply", "-f", str(path), "--auto-approve")
    assert applied.code == 0, applied.output
    assert inproc.cli("plan", "-f", str(path), "--detailed-exitcode").code == 0
    assert inproc.sentinel not in validated.output + applied.output


@pytest.mark.parametrize(("reference", "expected"), [
    ("${aws-sm:bitbucket/missing}",
     "cannot resolve ${aws-sm:bitbucket/missing}: AWS Secrets Manager could not return 'bitbucket/missing' "
     "(ResourceNotFoundException)"),
    ("${aws-sm:bitbucket/infra#nokey}", "secret 'bitbucket/infra' has no JSON key 'nokey'"),
    ("${aws-sm:bitbucket/main#token}", "secret 'bitbucket/main' is not JSON"),
    ("${aws-ssm:/bitbucket/missing}",
     "cannot resolve ${aws-ssm:/bitbucket/missing}: SSM Parameter Store could not return '/bitbucket/missing' "
     "(ParameterNotFound)"),
])
def test_unresolvable_aws_reference_fails_clearly(inproc: InProcess, aws: None, reference: str, expected: str) -> None:
    text = DEFINITIONS.replace("${aws-ssm:/bitbucket/main}", reference)
    path: Path = inproc.write("connectors.yaml", text)
    result = inproc.cli("apply", "-f", str(path), "--auto-approve")
    assert result.code == 1
    assert f"error: connectors[2].auth.api_token: {expected}" in result.stderr or (
        "connectors[2].auth.api_token" in result.stderr and expected in result.stderr), result.stderr
    assert inproc.sentinel not in result.output
    assert inproc.sg_requests() == 0


def test_the_example_definitions_file_is_valid(inproc: InProcess, aws: None) -> None:
    """examples/connectors.yaml: every auth type and every kind of reference, resolved and validated."""
    import boto3

    example = Path(__file__).resolve().parents[2] / "examples" / "connectors.yaml"
    copy = inproc.write("connectors.yaml", example.read_text())
    (inproc.tmp / "secrets").mkdir()
    (inproc.tmp / "secrets" / "workspace-token").write_text(f"{inproc.sentinel}-workspace\n")
    boto3.client("secretsmanager").create_secret(Name="bitbucket/legacy-app-password",
                                                 SecretString=f"{inproc.sentinel}-app-password")
    boto3.client("ssm").put_parameter(Name="/bitbucket/platform-project-token", Type="SecureString",
                                      Value=f"{inproc.sentinel}-project")
    inproc.setenv("BB_API_TOKEN", f"{inproc.sentinel}-main")
    inproc.setenv("BB_PIPELINES_API_TOKEN", f"{inproc.sentinel}-pipelines")
    result = inproc.cli("validate", "-f", str(copy), "--no-preflight", "--json", SG_BITBUCKET_IAC_NOW="2026-03-02")
    assert result.code == 0, result.output
    assert {c["auth_type"] for c in result.json()["connectors"]} == {"api_token", "access_token", "app_password"}
    assert inproc.sentinel not in result.output
