"""The emulated StackGuardian's switches: behaviours no public source settles, each switchable.

``Emulator(**switches)`` forwards them, over those named in ``SG_BITBUCKET_IAC_EMULATOR_SWITCHES``
(``name=value,...``); ``sg-bitbucket emulator`` takes the first two as flags too. What each switch
does, and the evidence for its default (sg-sdk-go, the official Terraform provider,
StackGuardian's own scripts), is on docs/evidence.md#emulator-switches:

* ``secret_read_mode="mask"``: secret config keys read back as ``********`` on GET, listall and
  in the ``data`` of create/update answers; ``"mask_user"`` keeps the user part of ``user:secret``
  credentials (``alice:********``), ``"omit"`` drops secret keys, ``"echo"`` returns them as sent.
* ``list_item_wrap=False``: listall items are flat records; ``True`` wraps each as ``{"msg": record}``.
* ``create_status=200`` (201 allowed).
* ``derived_id_keeps_hyphens=True``: without a body ``Id``, the Id is ``ResourceName`` with every
  character outside ``[A-Za-z0-9_-]`` replaced by ``_``; ``False`` replaces hyphens too.
* ``infer_bitbucket_auth_type=True``: an absent ``bitbucketAuthType`` is inferred (access token ->
  ACCESS_TOKEN, else email -> API_TOKEN, else APP_PASSWORD); ``False`` makes it required.
* ``store_resolved_auth_type=True``: the resolved ``bitbucketAuthType`` is stored and read back.
* ``unknown_org_status=403``: an org that does not exist, asked with a key valid elsewhere (404
  allowed, answered ``Organization <org> not found``).
* ``masked_secret_on_patch="reject"``: a secret sent as the read-back mask is a 400 (it catches
  clients that write back what they read); ``"keep"`` keeps the stored secret when the auth type
  does not change, as the UI does; a change of auth type always needs every field again.
* ``patch_answer="fresh"``: the PATCH answer's ``data`` is the record after the write; ``"stale"``
  returns it as it was before. Fresh because StackGuardian's own provider builds its state from the
  answer (docs/evidence.md#emulator-switches); CI runs the product on both.
* ``settings_patch="replace"``: ``Settings`` in a PATCH replaces the stored one whole; ``"merge"``
  lays the sent ``config[0]`` keys over the stored ones, ``null`` deleting a key, and keeps keys of
  another auth type that were not cleared.
* ``name_lookup=False``: ``{integration}`` in a path is the Id only; ``True`` also finds a
  connector by an exact, unique ``ResourceName``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

SecretReadMode = Literal["mask", "mask_user", "omit", "echo"]
SECRET_READ_MODES: tuple[SecretReadMode, ...] = ("mask", "mask_user", "omit", "echo")


@dataclass(frozen=True)
class StackGuardianOptions:
    """The [assumed] behaviours, switchable; the module docstring says what each does."""

    secret_read_mode: SecretReadMode = "mask"
    list_item_wrap: bool = False
    create_status: int = 200
    derived_id_keeps_hyphens: bool = True
    infer_bitbucket_auth_type: bool = True
    store_resolved_auth_type: bool = True
    unknown_org_status: int = 403
    masked_secret_on_patch: Literal["reject", "keep"] = "reject"
    patch_answer: Literal["fresh", "stale"] = "fresh"
    settings_patch: Literal["replace", "merge"] = "replace"
    name_lookup: bool = False

    def __post_init__(self) -> None:
        if self.secret_read_mode not in SECRET_READ_MODES:
            raise ValueError(f"secret_read_mode must be one of {', '.join(SECRET_READ_MODES)}")
        if self.create_status not in (200, 201):
            raise ValueError("create_status must be 200 or 201")
        if self.unknown_org_status not in (403, 404):
            raise ValueError("unknown_org_status must be 403 or 404")
        if self.masked_secret_on_patch not in ("reject", "keep"):
            raise ValueError("masked_secret_on_patch must be 'reject' or 'keep'")
        if self.patch_answer not in ("fresh", "stale"):
            raise ValueError("patch_answer must be 'fresh' or 'stale'")
        if self.settings_patch not in ("replace", "merge"):
            raise ValueError("settings_patch must be 'replace' or 'merge'")

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any]:
        """Switches from ``name=value,name=value`` (the ``SG_BITBUCKET_IAC_EMULATOR_SWITCHES`` form).

        Values are typed like the field defaults: ``true``/``false``, integers, or text.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        switches: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in known:
                raise ValueError(f"emulator switch {item!r}: expected NAME=VALUE with NAME one of {', '.join(known)}")
            default = known[name].default
            value = value.strip()
            if isinstance(default, bool):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(f"emulator switch {name} takes true or false, not {value!r}")
                switches[name] = value.lower() in ("true", "1")
            elif isinstance(default, int):
                switches[name] = int(value)
            else:
                switches[name] = value
        return switches

