"""Credential fingerprints: which scheme a value gets, and why.

A fingerprint sits where others can read it (ContextTags, Pulumi/Terraform state). Its one job
is that nobody who reads it can test guesses of the secret faster than brute force of the
secret itself would allow, while everyone who applies the same definitions computes the same
value (so the key/salt must come from the definitions, never from a per-user secret).

Why two schemes, chosen per value (the argument the choice rests on):

* Bitbucket generates its credentials: API and access tokens of well over 100 characters, app
  passwords of 20 random characters over 62 symbols (>= 119 bits). Against that space the cost
  per guess is irrelevant: at 10**11 HMAC-SHA256 guesses a second (a large GPU rig), half of
  2**119 takes ~10**17 years; scrypt's ~10**4x cost per guess changes nothing that matters.
  So a value with the shape Bitbucket gives its credentials gets a keyed fast hash: HMAC-SHA256
  under a key derived from the connector (org/Id/auth type), which stops precomputed tables and
  cross-connector correlation just as scrypt's salt does ("hmac1", ~2 microseconds).
* A short or hand-made value (a typed password, a placeholder) may hold 30-50 bits; there the
  ~10**4x memory-hard cost is the difference between hours and years, so it keeps scrypt
  ("scrypt1", N=2**12, r=8, p=1: 4 MiB, ~7 ms; unchanged, so such fingerprints stay identical).

The choice depends on the value alone (deterministic, the same for everyone). The shape test is
conservative: it may send a real token to the slow scheme (safe, only slower), and lets a value
through only when it is at least 20 characters of a token alphabet, mixes upper case, lower case
and digits with both cases interleaved, switches character class about as often as random text
does, holds few words or number groups (runs of one class, CamelCase words) and many distinct
characters. "AcmeBitbucketToken2025Prod", CamelCase sentences, hex ids, words joined by
separators, passphrases with spaces or symbols all fail; ~98% of random API tokens and ~75% of
random 20-character app passwords pass. What a person could type and still pass is a long run
of short mixed-case fragments and digits, whose length alone puts it far beyond reach.

Reading never depends on the choice: :func:`fingerprint_matches` recomputes with the scheme the
stored value names, so every fingerprint already in a stack (all "scrypt1") keeps comparing equal;
such a connector moves to "hmac1" the next time this tool writes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import string
from collections import Counter
from operator import itemgetter

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
_PROCESS_KEY = os.urandom(32)


# Each character as its class: digit "0", upper case "A", lower case "a", anything else "-".
_CLASS_OF = str.maketrans(
    {**dict.fromkeys(map(ord, string.digits), "0"), **dict.fromkeys(map(ord, string.ascii_uppercase), "A"),
     **dict.fromkeys(map(ord, string.ascii_lowercase), "a")}
)
_RUN_RE = re.compile(r"0+|A+|a+|[^0Aa]+")


def looks_generated(value: str) -> bool:
    """True when ``value`` has the shape of a machine-generated credential (see the module doc).

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
