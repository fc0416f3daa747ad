"""Secret values, their fingerprints, and `${...}` secret references.

A credential is wrapped in :class:`Secret` the moment it is read, so that no repr, log line,
exception or JSON dump can carry it by accident. Only code that must send it to an API calls
:meth:`Secret.reveal`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from .errors import SecretReferenceError

MASK = "****"
# Show the last four characters only when the secret is long enough that four characters
# reveal a negligible fraction of it (Bitbucket tokens are 30+ characters).
_MIN_LEN_FOR_HINT = 16


def mask(value: str) -> str:
    """The at-most `****abcd` form of a secret for humans."""
    if len(value) >= _MIN_LEN_FOR_HINT:
        return MASK + value[-4:]
    return MASK


class Secret:
    """A credential that refuses to be printed.

    Works as a pydantic field type: validation accepts a plain string or another Secret,
    serialization (``model_dump(mode="json")``) gives the mask, never the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a string")
        self._value = value

    def reveal(self) -> str:
        """The plaintext, for the one place that sends it to an API."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        # Pickling a secret (dill in Pulumi, multiprocessing, ...) would write it somewhere we
        # do not control. Refuse loudly instead.
        raise TypeError("Secret values cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value)
            raise ValueError("must be a string")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v.masked if isinstance(v, Secret) else mask(str(v)), when_used="always"
            ),
        )


def reveal(value: Secret | str | None) -> str | None:
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else value


# --------------------------------------------------------------------------- fingerprints
FINGERPRINT_SCHEME = "scrypt1"
# scrypt with N=2**12, r=8, p=1: 4 MiB of memory and ~7 ms per value. The salt (per org, connector
# and auth type) stops precomputed tables and cross-connector correlation; the memory-hard cost
# makes guessing a short password from a fingerprint in ContextTags or state slow. Bitbucket tokens
# are long random strings, so a higher cost would buy nothing real while making a drift scan of
# 1,000 connectors CPU-bound (measured: N=2**14 costs ~30 ms each). Results are memoised per process.
_SCRYPT_N = 2**12
_SCRYPT_R = 8
_SCRYPT_P = 1
_fingerprint_cache: dict[tuple[str, bytes], str] = {}


def _salt(context: str) -> bytes:
    # Deterministic per connector (org + Id + auth type), so everyone applying the same definitions
    # computes the same fingerprint, while two connectors with the same token do not collide.
    return hashlib.sha256(("sg-bitbucket-iac/fingerprint/v1\0" + context).encode()).digest()


def fingerprint(context: str, *parts: str) -> str:
    """A salted, slow, non-reversible fingerprint of credential parts.

    ``context`` names what the credential belongs to (e.g. ``"acme/bitbucket_main/API_TOKEN"``).
    The result is safe to store in state or in StackGuardian ContextTags.
    """
    material = "\0".join(parts).encode()
    cache_key = (context, hashlib.sha256(material).digest())
    cached = _fingerprint_cache.get(cache_key)
    if cached is not None:
        return cached
    digest = hashlib.scrypt(material, salt=_salt(context), n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=18)
    result = f"{FINGERPRINT_SCHEME}:{base64.urlsafe_b64encode(digest).decode()}"
    _fingerprint_cache[cache_key] = result
    return result


def cache_key(*parts: str) -> str:
    """A process-local key for memoising work per credential without keeping the secret as a key."""
    return hmac.new(_PROCESS_KEY, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


_PROCESS_KEY = os.urandom(32)


# --------------------------------------------------------------------------- references
REFERENCE_RE = re.compile(r"^\$\{(?P<kind>env|file|aws-sm|aws-ssm):(?P<target>[^}]+)\}$")


@dataclass(frozen=True)
class SecretReference:
    kind: str  # env | file | aws-sm | aws-ssm
    target: str

    @property
    def text(self) -> str:
        return "${" + f"{self.kind}:{self.target}" + "}"

    @classmethod
    def parse(cls, text: str) -> SecretReference | None:
        match = REFERENCE_RE.match(text.strip())
        if not match:
            return None
        return cls(match.group("kind"), match.group("target"))

    def resolve(self, base_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Secret:
        """The value; ``environ`` stands in for os.environ (a command run in-process with its own env)."""
        if self.kind == "env":
            value = (os.environ if environ is None else environ).get(self.target)
            if value is None:
                raise SecretReferenceError(f"{self.text}: environment variable {self.target} is not set")
            if not value:
                raise SecretReferenceError(f"{self.text}: environment variable {self.target} is empty")
            return Secret(value)
        if self.kind == "file":
            path = Path(os.path.expanduser(self.target))
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SecretReferenceError(f"{self.text}: cannot read {path}: {exc.strerror}") from None
            if not value:
                raise SecretReferenceError(f"{self.text}: file {path} is empty")
            return Secret(value)
        if self.kind == "aws-sm":
            return _resolve_secrets_manager(self)
        if self.kind == "aws-ssm":
            return _resolve_ssm(self)
        raise SecretReferenceError(f"{self.text}: unknown reference kind {self.kind!r}")


def _aws_client(service: str, ref: SecretReference) -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - depends on install extras
        raise SecretReferenceError(
            f"{ref.text}: AWS references need boto3; install with `pip install 'sg-bitbucket-iac[aws]'`"
        ) from None
    return boto3.client(service)


def _aws_error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code', type(exc).__name__)}"
    return type(exc).__name__


def _resolve_secrets_manager(ref: SecretReference) -> Secret:
    import json

    secret_id, _, json_key = ref.target.partition("#")
    client = _aws_client("secretsmanager", ref)
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore raises dynamic ClientError subclasses
        raise SecretReferenceError(
            f"{ref.text}: AWS Secrets Manager could not return {secret_id!r} ({_aws_error_text(exc)})"
        ) from None
    value = response.get("SecretString")
    if value is None:
        raise SecretReferenceError(f"{ref.text}: secret {secret_id!r} has no string value")
    if json_key:
        try:
            document = json.loads(value)
        except ValueError:
            raise SecretReferenceError(
                f"{ref.text}: secret {secret_id!r} is not JSON, so key {json_key!r} cannot be read"
            ) from None
        if not isinstance(document, dict) or json_key not in document:
            raise SecretReferenceError(f"{ref.text}: secret {secret_id!r} has no JSON key {json_key!r}")
        value = str(document[json_key])
    if not value:
        raise SecretReferenceError(f"{ref.text}: the value is empty")
    return Secret(value)


def _resolve_ssm(ref: SecretReference) -> Secret:
    client = _aws_client("ssm", ref)
    try:
        response = client.get_parameter(Name=ref.target, WithDecryption=True)
    except Exception as exc:
        raise SecretReferenceError(
            f"{ref.text}: SSM Parameter Store could not return {ref.target!r} ({_aws_error_text(exc)})"
        ) from None
    value = response.get("Parameter", {}).get("Value")
    if not value:
        raise SecretReferenceError(f"{ref.text}: parameter {ref.target!r} is empty")
    return Secret(value)
