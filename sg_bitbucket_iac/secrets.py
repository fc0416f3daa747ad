"""Secret values, their fingerprints, and `${...}` secret references.

A credential is wrapped in :class:`Secret` the moment it is read, so that no repr, log line,
exception or JSON dump can carry it by accident. Only code that must send it to an API calls
:meth:`Secret.reveal`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
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
# Why two schemes, chosen per value (the argument the choice rests on):
#
# A fingerprint sits where others can read it (ContextTags, Pulumi/Terraform state). Its one job
# is that nobody who reads it can test guesses of the secret faster than brute force of the
# secret itself would allow, while everyone who applies the same definitions computes the same
# value (so the key/salt must come from the definitions, never from a per-user secret).
#
# * Bitbucket generates its credentials: API and access tokens of well over 100 characters, app
#   passwords of 20 random characters over 62 symbols (>= 119 bits). Against that space the cost
#   per guess is irrelevant: at 10**11 HMAC-SHA256 guesses a second (a large GPU rig), half of
#   2**119 takes ~10**17 years; scrypt's ~10**4x cost per guess changes nothing that matters.
#   So a value with the shape Bitbucket gives its credentials gets a keyed fast hash: HMAC-SHA256
#   under a key derived from the connector (org/Id/auth type), which stops precomputed tables and
#   cross-connector correlation just as scrypt's salt does ("hmac1", ~2 microseconds).
# * A short or hand-made value (a typed password, a placeholder) may hold 30-50 bits; there the
#   ~10**4x memory-hard cost is the difference between hours and years, so it keeps scrypt
#   ("scrypt1", N=2**12, r=8, p=1: 4 MiB, ~7 ms; unchanged, so such fingerprints stay identical).
#
# The choice depends on the value alone (deterministic, the same for everyone). The shape test is
# conservative: it may send a real token to the slow scheme (safe, only slower), and lets a value
# through only when it is at least 20 characters of a token alphabet, mixes upper case, lower case
# and digits with both cases interleaved, switches character class about as often as random text
# does, holds few words or number groups (runs of one class, CamelCase words) and many distinct
# characters. "AcmeBitbucketToken2025Prod", CamelCase sentences, hex ids, words joined by
# separators, passphrases with spaces or symbols all fail; ~98% of random API tokens and ~75% of
# random 20-character app passwords pass. What a person could type and still pass is a long run
# of short mixed-case fragments and digits, whose length alone puts it far beyond reach.
#
# Reading never depends on the choice: `fingerprint_matches` recomputes with the scheme the stored
# value names, so every fingerprint already in a stack (all "scrypt1") keeps comparing equal; such
# a connector moves to "hmac1" the next time this tool writes it.
FAST_SCHEME = "hmac1"
SLOW_SCHEME = "scrypt1"
FINGERPRINT_SCHEMES = (FAST_SCHEME, SLOW_SCHEME)
_SCRYPT_N = 2**12
_SCRYPT_R = 8
_SCRYPT_P = 1
_DIGEST_BYTES = 18
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.")
_WORDLIKE_RE = re.compile(r"[A-Z][a-z]{2,}|[a-z]{4,}|[A-Z]{4,}|[0-9]{4,}")
_GENERATED_MIN_LEN = 20  # Bitbucket's shortest generated credential: a 20-character app password
_fingerprint_cache: dict[tuple[str, str, bytes], str] = {}
_scheme_cache: dict[bytes, str] = {}


# Each character as its class: digit "0", upper case "A", lower case "a", anything else "-".
_CLASS_OF = str.maketrans(
    {**dict.fromkeys(map(ord, string.digits), "0"), **dict.fromkeys(map(ord, string.ascii_uppercase), "A"),
     **dict.fromkeys(map(ord, string.ascii_lowercase), "a")}
)
_RUN_RE = re.compile(r"0+|A+|a+|[^0Aa]+")


def looks_generated(value: str) -> bool:
    """True when ``value`` has the shape of a machine-generated credential (see the argument above).

    Random text over ~62 symbols switches character class at ~62% of adjacent positions and repeats
    few characters; typed words switch at word boundaries only (~15-30%).
    """
    length = len(value)
    if length < _GENERATED_MIN_LEN or not _TOKEN_ALPHABET.issuperset(value):
        return False
    classes = value.translate(_CLASS_OF)
    runs = _RUN_RE.findall(classes)
    kinds = Counter(map(itemgetter(0), runs))
    if not (kinds["0"] and kinds["A"] and kinds["a"]):
        return False
    if len(runs) - 1 < 0.4 * (length - 1):  # class switches
        return False
    # Words and number groups ("Bitbucket", "2024") are runs of one class; random text has few.
    if sum(len(run) for run in runs if len(run) >= 4) > 0.3 * length:
        return False
    if sum(len(word) for word in _WORDLIKE_RE.findall(value)) > 0.5 * length:
        return False  # CamelCase words ("AcmeCorpDataTeam") hide from the run count
    # Both letter cases interleaved through the value, not a capitalised word or prefix.
    if kinds["A"] < 2 or kinds["a"] < 2:
        return False
    counts = Counter(value)
    if len(counts) < min(0.6 * length, 30):
        return False
    return max(counts.values()) <= max(4, length // 8)


def _salt(context: str) -> bytes:
    # Deterministic per connector (org + Id + auth type), so everyone applying the same definitions
    # computes the same fingerprint, while two connectors with the same token do not collide.
    return hashlib.sha256(("sg-bitbucket-iac/fingerprint/v1\0" + context).encode()).digest()


def _hmac_key(context: str) -> bytes:
    return hashlib.sha256(("sg-bitbucket-iac/fingerprint/hmac1\0" + context).encode()).digest()


def _digest(scheme: str, context: str, material: bytes) -> str:
    cache_key = (scheme, context, hashlib.sha256(material).digest())
    cached = _fingerprint_cache.get(cache_key)
    if cached is not None:
        return cached
    if scheme == FAST_SCHEME:
        raw = hmac.new(_hmac_key(context), material, hashlib.sha256).digest()[:_DIGEST_BYTES]
    else:
        raw = hashlib.scrypt(material, salt=_salt(context), n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                             dklen=_DIGEST_BYTES)
    result = f"{scheme}:{base64.urlsafe_b64encode(raw).decode()}"
    _fingerprint_cache[cache_key] = result
    return result


def fingerprint_scheme(*parts: str) -> str:
    """The scheme new fingerprints of these parts use; the secret is the last part."""
    if not parts:
        return SLOW_SCHEME
    key = hashlib.sha256(parts[-1].encode()).digest()  # memoised without keeping the secret as a key
    scheme = _scheme_cache.get(key)
    if scheme is None:
        scheme = _scheme_cache[key] = FAST_SCHEME if looks_generated(parts[-1]) else SLOW_SCHEME
    return scheme


def fingerprint(context: str, *parts: str) -> str:
    """A keyed or salted-and-slow, non-reversible fingerprint of credential parts (secret last).

    ``context`` names what the credential belongs to (e.g. ``"acme/bitbucket_main/API_TOKEN"``).
    The result is safe to store in state or in StackGuardian ContextTags.
    """
    return _digest(fingerprint_scheme(*parts), context, "\0".join(parts).encode())


def fingerprint_matches(known: str | None, context: str, *parts: str) -> bool:
    """Whether ``known`` (written by any scheme of this module) is the fingerprint of these parts."""
    if not known:
        return False
    scheme, _, _ = known.partition(":")
    if scheme not in FINGERPRINT_SCHEMES:
        return False
    expected = _digest(scheme, context, "\0".join(parts).encode())
    return hmac.compare_digest(expected.encode(), known.encode())


def cache_key(*parts: str) -> str:
    """A process-local key for memoising work per credential without keeping the secret as a key."""
    return hmac.new(_PROCESS_KEY, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


_PROCESS_KEY = os.urandom(32)


# --------------------------------------------------------------------------- wire forms and scrubbing
# Every form a secret takes on its way to a server and back in an error text: raw, the secret half of
# `user:secret`, repr/JSON-escaped, URL-encoded. Base64 (a Basic header) is found by decoding
# base64-looking words, since the base64 of `email:token` does not contain the base64 of `token`.
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
# A `user:secret` half shorter than this is too common a word to scrub without mangling the text.
_MIN_HALF = 4


def secret_forms(value: str) -> set[str]:
    """The encodings of one secret that a text (error body, log line, repr) may carry."""
    from urllib.parse import quote, quote_plus

    forms: set[str] = set()
    candidates = {value, value.strip()}
    if ":" in value:
        tail = value.partition(":")[2]
        if len(tail) >= _MIN_HALF:
            candidates.add(tail)
    for candidate in candidates:
        if not candidate:
            continue
        forms.update({
            candidate,
            repr(candidate)[1:-1],
            str(candidate.encode("utf-8"))[2:-1],  # bytes repr: b'apikey KEY\n'
            json.dumps(candidate)[1:-1],
            candidate.encode("unicode_escape").decode("ascii"),
            quote(candidate, safe=""),
            quote(candidate, safe="").lower(),
            quote_plus(candidate),
        })
    return {form for form in forms if form}


def scrub_text(text: str, secrets: Iterable[str], replacement: str = MASK) -> str:
    """``text`` without any form of any of ``secrets`` (see :func:`secret_forms`)."""
    values = [s for s in dict.fromkeys(secrets) if s]
    if not values or not text:
        return text
    forms = sorted({form for value in values for form in secret_forms(value)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, replacement)
    raw = [v.encode("utf-8") for value in values for v in {value, value.strip()} if v]

    def masked_if_encoding_a_secret(match: re.Match[str]) -> str:
        word = match.group(0)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(word + "=" * (-len(word) % 4))
            except (ValueError, TypeError):
                continue
            if any(secret in decoded for secret in raw):
                return replacement
        return word

    return _BASE64_WORD.sub(masked_if_encoding_a_secret, text)


def control_characters(value: str) -> list[str]:
    """Names of the control characters in ``value`` (never the value): `U+0000`, `U+001B`, ..."""
    if value.isprintable():  # C-speed: no control (Cc) or format (Cf) character at all
        return []
    found = {ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"}
    found |= {ch for ch in value if ch in "\t\n\r"}
    return sorted(f"U+{ord(ch):04X}" for ch in found)


# --------------------------------------------------------------------------- references
REFERENCE_RE = re.compile(r"^\$\{(?P<kind>env|file|aws-sm|aws-ssm):(?P<target>[^}]+)\}$")
# A credential file is a few hundred bytes; anything much larger is the wrong file.
MAX_SECRET_FILE_BYTES = 64 * 1024
# Kernel and device trees: never a credential, often the process's own secrets (/proc/self/environ).
_SPECIAL_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


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

    def resolve(
        self,
        base_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        allowed_dirs: Iterable[Path] = (),
    ) -> Secret:
        """The value, stripped of surrounding whitespace and refused if it holds control characters.

        ``environ`` stands in for os.environ (a command run in-process with its own env). A file
        reference is read relative to ``base_dir`` (the definitions file's folder, else the working
        directory) and only inside that tree or one of ``allowed_dirs``.
        """
        if self.kind == "env":
            value = (os.environ if environ is None else environ).get(self.target)
            if value is None:
                raise SecretReferenceError(f"{self.text}: environment variable {self.target} is not set")
            return self._checked(value, f"environment variable {self.target}")
        if self.kind == "file":
            return self._checked(_read_secret_file(self, base_dir, allowed_dirs), "the file")
        if self.kind == "aws-sm":
            return self._checked(_resolve_secrets_manager(self, environ), f"secret {self.target.partition('#')[0]!r}")
        if self.kind == "aws-ssm":
            return self._checked(_resolve_ssm(self, environ), f"parameter {self.target!r}")
        raise SecretReferenceError(f"{self.text}: unknown reference kind {self.kind!r}")

    def _checked(self, value: str, source: str) -> Secret:
        value = value.strip()
        if not value:
            raise SecretReferenceError(f"{self.text}: {source} is empty")
        bad = control_characters(value)
        if bad:
            raise SecretReferenceError(
                f"{self.text}: {source} holds control characters ({', '.join(bad)}), which no Bitbucket "
                "credential has; point the reference at the credential alone"
            )
        return Secret(value)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _read_secret_file(ref: SecretReference, base_dir: Path | None, allowed_dirs: Iterable[Path]) -> str:
    """A regular file inside the definitions' folder tree (or an allowed folder), read safely.

    Symlinks are resolved before the check, so a link cannot lead outside; the file is opened
    non-blocking and checked again on the open descriptor, so a FIFO or device swapped in is refused.
    """
    import stat

    base = (base_dir or Path.cwd()).resolve()
    folders = [base, *(Path(os.path.expanduser(str(d))).resolve() for d in allowed_dirs)]
    requested = Path(os.path.expanduser(ref.target))
    path = (requested if requested.is_absolute() else base / requested).resolve()
    if any(_within(path, tree) for tree in _SPECIAL_TREES):
        raise SecretReferenceError(f"{ref.text}: {path} is a kernel or device file, not a credential file")
    if not any(_within(path, folder) for folder in folders):
        raise SecretReferenceError(
            f"{ref.text}: {path} is outside the definitions folder {base}; keep secret files next to the "
            "definitions, or pass --allow-secret-files-outside DIR for the folder that holds it"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise SecretReferenceError(f"{ref.text}: cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretReferenceError(f"{ref.text}: {path} is not a regular file; point it at a file")
        if info.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretReferenceError(
                f"{ref.text}: {path} has {info.st_size} bytes, more than a credential file's "
                f"{MAX_SECRET_FILE_BYTES}; point it at the file that holds only the credential"
            )
        data = os.read(fd, MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise SecretReferenceError(f"{ref.text}: cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretReferenceError(f"{ref.text}: {path} is not UTF-8 text") from None


# --------------------------------------------------------------------------- AWS references
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


def _resolve_secrets_manager(ref: SecretReference, environ: Mapping[str, str] | None = None) -> str:
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


def _resolve_ssm(ref: SecretReference, environ: Mapping[str, str] | None = None) -> str:
    client = _aws_client("ssm", ref, environ)
    try:
        response = client.get_parameter(Name=ref.target, WithDecryption=True)
    except Exception as exc:
        raise _aws_failure(ref, f"SSM Parameter Store could not return {ref.target!r}", exc) from None
    return str(response.get("Parameter", {}).get("Value") or "")
