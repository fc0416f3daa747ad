"""Credential fingerprints: the scheme chosen per value, and fingerprints of every scheme read back."""

from __future__ import annotations

import hashlib
import hmac
import random
import string
from datetime import UTC, datetime

from sg_bitbucket_iac.engine import Action, AppliedSnapshot, classify_drift, plan_connector
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.secrets import (
    FAST_SCHEME,
    SLOW_SCHEME,
    Secret,
    fingerprint,
    fingerprint_matches,
    looks_generated,
)

CONTEXT = "acme/main/API_TOKEN"
# A token of the shape Bitbucket issues (seeded, so the test is deterministic).
_rng = random.Random(15)
GENERATED = "ATATT3xFfGF0" + "".join(_rng.choice(string.ascii_letters + string.digits + "-_")
                                     for _ in range(180)) + "=4A1B2C3D"
TYPED = "hunter2-typed-by-hand"
TYPED_SENTINEL = "SENTINEL-secrets-9f8e7d6c5b4a3210"  # a hand-made value: the slow scheme
# Written by the scrypt-only scheme of the first release (every existing stack holds these).
LEGACY_GENERATED = "scrypt1:mPhJAphnUFiZfhzBxEL9tZRJ"
LEGACY_TYPED = "scrypt1:isjhzdxV3TYGp8oF4TFDMZZO"


def test_generated_tokens_get_the_keyed_fast_scheme_and_typed_values_keep_scrypt() -> None:
    fast = fingerprint(CONTEXT, "alice", "alice@acme.io", GENERATED)
    assert fast.startswith(FAST_SCHEME + ":")
    assert fast == fingerprint(CONTEXT, "alice", "alice@acme.io", GENERATED)  # same for everyone
    assert fast != fingerprint("acme/other/API_TOKEN", "alice", "alice@acme.io", GENERATED)  # keyed per connector
    assert GENERATED not in fast and GENERATED[-8:] not in fast
    bare = [hashlib.sha256(GENERATED.encode()).digest(),
            hmac.new(b"", GENERATED.encode(), hashlib.sha256).digest()]
    assert all(digest.hex()[:12] not in fast for digest in bare)
    # A short or hand-made value keeps exactly the fingerprint it always had.
    assert fingerprint(CONTEXT, "alice", "alice@acme.io", TYPED) == LEGACY_TYPED
    assert fingerprint(CONTEXT, "alice", "alice@acme.io", TYPED).startswith(SLOW_SCHEME + ":")


def test_fingerprints_of_every_scheme_are_read_back() -> None:
    parts = ("alice", "alice@acme.io", GENERATED)
    assert fingerprint_matches(LEGACY_GENERATED, CONTEXT, *parts)  # written before the fast scheme existed
    assert fingerprint_matches(fingerprint(CONTEXT, *parts), CONTEXT, *parts)
    assert fingerprint_matches(LEGACY_TYPED, CONTEXT, "alice", "alice@acme.io", TYPED)
    rotated = ("alice", "alice@acme.io", GENERATED[:-1] + "E")
    assert not fingerprint_matches(LEGACY_GENERATED, CONTEXT, *rotated)
    assert not fingerprint_matches(fingerprint(CONTEXT, *parts), CONTEXT, *rotated)
    assert not fingerprint_matches(LEGACY_GENERATED, "acme/other/API_TOKEN", *parts)
    for unreadable in (None, "", "md5:abcd", LEGACY_GENERATED.replace("scrypt1", "hmac1")):
        assert not fingerprint_matches(unreadable, CONTEXT, *parts)


def test_what_people_type_never_takes_the_fast_scheme() -> None:
    for typed in ("hunter2", "Summer2024!Summer2024!", "AcmeBitbucketToken2025Prod", "MyCompanyBitbucket2024Token",
                  "AcmeCorpDataTeamProdRepoMainKey2025", "correct horse battery staple",
                  "correct-horse-battery-staple-42", "SENTINEL-" + "0123456789abcdef" * 2,
                  "0123456789abcdef0123456789abcdef", "ATATT3xBenchmarkApiToken000000000000000001",
                  "x" * 200, "Password1234567890abcdefG"):
        assert not looks_generated(typed), typed
    assert looks_generated(GENERATED)


WORDS = ["acme", "prod", "deploy", "token", "bitbucket", "main", "team", "secret", "infra", "key", "summer",
         "winter", "admin", "repo", "build", "ci", "data", "cloud", "pipeline", "staging"]


def test_words_and_numbers_stay_on_the_slow_scheme() -> None:
    rng = random.Random(1500)
    for _ in range(3000):
        words = rng.choices(WORDS, k=rng.randint(1, 12))
        separator = rng.choice(["", "-", "_", "."])
        if rng.random() < 0.5:
            words = [w.capitalize() for w in words]
        value = separator.join(words) + separator + str(rng.randint(0, 99999))
        assert not looks_generated(value), value


def test_a_stack_holding_a_legacy_fingerprint_plans_and_drifts_clean() -> None:
    desired = parse_connector({"name": "main", "workspace": "acme",
                               "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io",
                                        "api_token": GENERATED}})
    fresh = AppliedSnapshot.of(desired, "acme")
    assert fresh.fingerprint is not None and fresh.fingerprint.startswith(FAST_SCHEME + ":")
    legacy = AppliedSnapshot(**{**fresh.to_dict(), "tags": (), "auth_type": fresh.auth_type,
                                "fingerprint": LEGACY_GENERATED})
    assert legacy.fingerprint == LEGACY_GENERATED
    observed = legacy.as_observed(authenticated=True)
    assert plan_connector(desired, org="acme", applied=legacy, observed=observed).action is Action.NOOP
    report = classify_drift(desired, org="acme", applied=legacy, observed=observed, at=datetime.now(UTC))
    assert not report.not_yet_applied
    rotated = desired.model_copy(update={"auth": desired.auth.model_copy(
        update={"api_token": Secret(GENERATED[:-1] + "E")})})
    plan = plan_connector(rotated, org="acme", applied=legacy, observed=observed)
    assert plan.action is Action.UPDATE and [c.note for c in plan.changes] == ["rotated"]


def test_fingerprint_is_deterministic_salted_and_not_a_bare_hash() -> None:
    first = fingerprint("acme/main/API_TOKEN", "alice", TYPED_SENTINEL)
    assert first == fingerprint("acme/main/API_TOKEN", "alice", TYPED_SENTINEL)
    assert first.startswith("scrypt1:")
    assert first != fingerprint("acme/other/API_TOKEN", "alice", TYPED_SENTINEL)  # salted per connector
    assert first != fingerprint("acme/main/API_TOKEN", "alice", TYPED_SENTINEL + "x")
    assert hashlib.sha256(TYPED_SENTINEL.encode()).hexdigest()[:16] not in first
    assert TYPED_SENTINEL not in first
