"""`${aws-sm:...}` and `${aws-ssm:...}` references: AWS Secrets Manager and SSM Parameter Store via boto3.

boto3 is an optional extra (``sg-bitbucket-iac[aws]``) and is imported only when such a reference is
resolved. Every failure names the reference, AWS's error code and the fix, never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import SecretReferenceError

if TYPE_CHECKING:
    from .references import SecretReference

# What to do about each AWS failure; the error code is AWS's, never a value.
_AWS_FIXES = {
    "NoRegionError": "no AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in "
    "the AWS profile",
    "NoCredentialsError": "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run where an instance/task role is available",
    "PartialCredentialsError": "the AWS credentials are incomplete: set both AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY",
    "ProfileNotFound": "the AWS_PROFILE named does not exist in ~/.aws/config; fix AWS_PROFILE",
    "UnrecognizedClientException": "AWS does not recognise these credentials: refresh them",
    "InvalidClientTokenId": "AWS does not recognise these credentials: refresh them",
    "ExpiredTokenException": "the AWS session has expired: log in again (e.g. `aws sso login`)",
    "ExpiredToken": "the AWS session has expired: log in again (e.g. `aws sso login`)",
    "AccessDeniedException": "the AWS identity may not read it: grant secretsmanager:GetSecretValue / "
    "ssm:GetParameter on it (and kms:Decrypt on its key)",
    "AccessDenied": "the AWS identity may not read it: grant secretsmanager:GetSecretValue / "
    "ssm:GetParameter on it (and kms:Decrypt on its key)",
    "ResourceNotFoundException": "no such secret in this region: check the secret id and AWS_REGION",
    "ParameterNotFound": "no such parameter in this region: check the name (it starts with /) and AWS_REGION",
    "DecryptionFailure": "AWS could not decrypt it: grant kms:Decrypt on the secret's key",
    "EndpointConnectionError": "AWS could not be reached: check the network and AWS_REGION",
    "ConnectTimeoutError": "AWS could not be reached in time: check the network",
}


def _aws_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def _aws_failure(ref: SecretReference, what: str, exc: BaseException) -> SecretReferenceError:
    code = _aws_code(exc)
    fix = _AWS_FIXES.get(code, "check the AWS configuration (region, credentials) and the reference")
    return SecretReferenceError(f"{ref.text}: {what} ({code}); {fix}")


def _aws_client(service: str, ref: SecretReference, environ: Mapping[str, str] | None) -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - depends on install extras
        raise SecretReferenceError(
            f"{ref.text}: AWS references need boto3; install with `pip install 'sg-bitbucket-iac[aws]'`"
        ) from None
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    try:
        return boto3.client(service, region_name=region) if region else boto3.client(service)
    except Exception as exc:  # botocore's NoRegionError, ProfileNotFound, ... (dynamic classes)
        raise _aws_failure(ref, f"cannot set up the AWS {service} client", exc) from None


def resolve_secrets_manager(ref: SecretReference, environ: Mapping[str, str] | None = None) -> str:
    secret_id, _, json_key = ref.target.partition("#")
    client = _aws_client("secretsmanager", ref, environ)
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore raises dynamic ClientError subclasses
        raise _aws_failure(ref, f"AWS Secrets Manager could not return {secret_id!r}", exc) from None
    value = response.get("SecretString")
    if value is None:
        raise SecretReferenceError(
            f"{ref.text}: secret {secret_id!r} has no string value (it is binary); store the credential as text"
        )
    if json_key:
        try:
            document = json.loads(value)
        except ValueError:
            raise SecretReferenceError(
                f"{ref.text}: secret {secret_id!r} is not JSON, so key {json_key!r} cannot be read; "
                f"drop `#{json_key}` to use the whole value"
            ) from None
        if not isinstance(document, dict) or json_key not in document:
            raise SecretReferenceError(
                f"{ref.text}: secret {secret_id!r} has no JSON key {json_key!r}; fix the key after `#`"
            )
        if not isinstance(document[json_key], str):
            raise SecretReferenceError(f"{ref.text}: JSON key {json_key!r} of {secret_id!r} is not a string")
        value = document[json_key]
    return str(value)


def resolve_ssm(ref: SecretReference, environ: Mapping[str, str] | None = None) -> str:
    client = _aws_client("ssm", ref, environ)
    try:
        response = client.get_parameter(Name=ref.target, WithDecryption=True)
    except Exception as exc:
        raise _aws_failure(ref, f"SSM Parameter Store could not return {ref.target!r}", exc) from None
    return str(response.get("Parameter", {}).get("Value") or "")
