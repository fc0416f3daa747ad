"""Secret wrapping and `${...}` references (AWS ones through moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sg_bitbucket_iac.errors import SecretReferenceError
from sg_bitbucket_iac.secrets import Secret, SecretReference

SENTINEL = "SENTINEL-secrets-9f8e7d6c5b4a3210"


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
        SecretReference("file", str(tmp_path / "missing")).resolve(base_dir=tmp_path)


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


# --------------------------------------------------------------------------- issue 11: references
@pytest.mark.parametrize("value", [SENTINEL + "\x00", "a\x1b[2J" + SENTINEL, SENTINEL + "\u202e", "x\ny" + SENTINEL])
def test_references_refuse_control_characters_without_showing_the_value(value: str) -> None:
    with pytest.raises(SecretReferenceError, match="control characters") as caught:
        SecretReference("env", "TOKEN").resolve(environ={"TOKEN": value})
    assert SENTINEL not in str(caught.value)


def test_references_strip_surrounding_whitespace(tmp_path: Path) -> None:
    assert SecretReference("env", "T").resolve(environ={"T": f"  {SENTINEL}\r\n"}) == Secret(SENTINEL)
    (tmp_path / "t").write_text(f"\n{SENTINEL}\n")
    assert SecretReference("file", "t").resolve(base_dir=tmp_path) == Secret(SENTINEL)


def test_file_references_stay_in_the_folder_tree(tmp_path: Path) -> None:
    inside = tmp_path / "defs"
    (inside / "nested").mkdir(parents=True)
    (inside / "nested" / "ok").write_text(SENTINEL)
    (tmp_path / "outside").write_text(SENTINEL)
    assert SecretReference("file", "nested/ok").resolve(base_dir=inside) == Secret(SENTINEL)
    assert SecretReference("file", str(inside / "nested" / "ok")).resolve(base_dir=inside) == Secret(SENTINEL)
    for target in ("../outside", str(tmp_path / "outside"), "nested/../../outside", "/proc/self/environ",
                   "/dev/stdin", "/sys/kernel/hostname"):
        with pytest.raises(SecretReferenceError) as caught:
            SecretReference("file", target).resolve(base_dir=inside)
        assert SENTINEL not in str(caught.value)
    assert SecretReference("file", "../outside").resolve(base_dir=inside, allowed_dirs=[tmp_path]) == Secret(SENTINEL)
    (tmp_path / "big").write_text("x" * (70 * 1024))
    with pytest.raises(SecretReferenceError, match="more than a credential file"):
        SecretReference("file", "big").resolve(base_dir=tmp_path)


def test_aws_without_region_or_credentials_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from moto import mock_aws

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with mock_aws():
        for kind, target in (("aws-sm", "bitbucket/x"), ("aws-ssm", "/bitbucket/x")):
            with pytest.raises(SecretReferenceError, match=r"\(NoRegionError\); no AWS region is configured: set "
                                                           "AWS_REGION"):
                SecretReference(kind, target).resolve(environ={})
        # The command's own environment gives the region (in-process callers pass theirs).
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with pytest.raises(SecretReferenceError, match="ResourceNotFoundException"):
            SecretReference("aws-sm", "bitbucket/x").resolve(environ={"AWS_REGION": "eu-west-1"})
