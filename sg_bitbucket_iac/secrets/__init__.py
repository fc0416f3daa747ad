"""Secret values, their fingerprints, and `${...}` secret references.

* :mod:`.secret`: the :class:`Secret` type, wrapped from the moment a credential is read;
* :mod:`.fingerprints`: the fingerprint schemes, with the argument for choosing one per value;
* :mod:`.references`: ``${env:...}`` and ``${file:...}`` references, and where a file may be;
* :mod:`.aws`: ``${aws-sm:...}`` and ``${aws-ssm:...}`` references through boto3.

Masking, scrubbing and control-character checks are :mod:`sg_bitbucket_iac.redact`'s; the names
this package has always offered (``mask``, ``scrub_text``, ``control_characters``, ...) stay
importable from here.
"""

from ..errors import SecretReferenceError
from ..redact import MASK, control_characters, mask, scrub_text, secret_forms
from .fingerprints import (
    FAST_SCHEME,
    FINGERPRINT_SCHEMES,
    SLOW_SCHEME,
    cache_key,
    fingerprint,
    fingerprint_matches,
    fingerprint_scheme,
    looks_generated,
)
from .references import MAX_SECRET_FILE_BYTES, REFERENCE_RE, SecretReference
from .secret import Secret, reveal

__all__ = [
    "FAST_SCHEME",
    "FINGERPRINT_SCHEMES",
    "MASK",
    "MAX_SECRET_FILE_BYTES",
    "REFERENCE_RE",
    "SLOW_SCHEME",
    "Secret",
    "SecretReference",
    "SecretReferenceError",
    "cache_key",
    "control_characters",
    "fingerprint",
    "fingerprint_matches",
    "fingerprint_scheme",
    "looks_generated",
    "mask",
    "reveal",
    "scrub_text",
    "secret_forms",
]
