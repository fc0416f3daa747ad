"""Secret wrapping, fingerprints and `${...}` references (AWS ones through moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sg_bitbucket_iac.errors import SecretReferenceError
from sg_bitbucket_iac.secrets import Secret, SecretReference, fingerprint

SENTINEL = "SENTINEL-secrets-9f8e7d6c5b4a3210"


def test_fingerprint_is_deterministic_salted_and_not_a_bare_hash() -> None:
    import hashlib

    first = fingerprint("acme/main/API_TOKEN", "alice", SENTINEL)
    assert first == fingerprint("acme/main/API_TOKEN", "alice", SENTINEL)
    assert first.startswith("scrypt1:")
    assert first != fingerprint("acme/other/API_TOKEN", "alice", SENTINEL)  # salted per connector
    assert first != fingerprint("acme/main/API_TOKEN", "alice", SENTINEL + "x")
    assert hashlib.sha256(SENTINEL.encode()).hexdigest()[:16] not in first
    assert SENTINEL not in first


def test_secret_equality_and_formatting() -> None:
    secret = Secret(SENTINEL)
    assert secret == Secret(SENTINEL) and secret != Secret("other")
    assert f"{secret}" == "****3210" and str(secret) == "****3210"
    assert SENTINEL not in repr([secret, {"k": secret}])
    assert secret.reveal() == SENTINEL


def test_env_and_file_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BB_TOKEN", SENTINEL)
    assert SecretReference.parse("${env:BB_TOKEN}").resolve() == Secret(SENTINEL)  # type: ignore[union-attr]
    (tmp_path / "token.txt").write_text(SENTINEL + "\n")
    ref = SecretReference.parse("${file:token.txt}")
    assert ref is not None and ref.resolve(base_dir=tmp_path) == Secret(SENTINEL)
    assert SecretReference.parse("plain-value") is None


def test_unresolvable_references_name_the_reference_never_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(SecretReferenceError, match=r"\$\{env:NOPE\}.*not set"):
        SecretReference("env", "NOPE").resolve()
    with pytest.raises(SecretReferenceError, match="cannot read"):
        SecretReference("file", str(tmp_path / "missing")).resolve()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield


def test_aws_secrets_manager_plain_and_json_key(aws: None) -> None:
    import boto3

    client = boto3.client("secretsmanager")
    client.create_secret(Name="bitbucket/plain", SecretString=SENTINEL)
    client.create_secret(Name="bitbucket/infra", SecretString=json.dumps({"token": SENTINEL, "other": "x"}))
    assert SecretReference.parse("${aws-sm:bitbucket/plain}").resolve() == Secret(SENTINEL)  # type: ignore[union-attr]
    assert SecretReference.parse("${aws-sm:bitbucket/infra#token}").resolve() == Secret(SENTINEL)  # type: ignore[union-attr]
    with pytest.raises(SecretReferenceError, match="no JSON key 'missing'") as caught:
        SecretReference("aws-sm", "bitbucket/infra#missing").resolve()
    assert SENTINEL not in str(caught.value)
    with pytest.raises(SecretReferenceError, match="ResourceNotFoundException"):
        SecretReference("aws-sm", "bitbucket/absent").resolve()


def test_aws_ssm_secure_string(aws: None) -> None:
    import boto3

    boto3.client("ssm").put_parameter(Name="/bitbucket/token", Value=SENTINEL, Type="SecureString")
    assert SecretReference.parse("${aws-ssm:/bitbucket/token}").resolve() == Secret(SENTINEL)  # type: ignore[union-attr]
    with pytest.raises(SecretReferenceError, match="ParameterNotFound"):
        SecretReference("aws-ssm", "/bitbucket/absent").resolve()
