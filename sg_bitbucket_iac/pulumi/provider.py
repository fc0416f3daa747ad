"""The dynamic provider behind ``BitbucketConnector``: Pulumi's dynamic-provider calls onto the lifecycle.

Pulumi pickles the provider instance with dill into every resource's ``__provider``, by reference:
the dotted path ``sg_bitbucket_iac.pulumi.provider`` and the class name ``BitbucketConnectorProvider``
are part of every stack's state, so never rename them, and the pickled instance holds nothing.

What each call does is :mod:`.lifecycle`, shared with the native provider; this module only
translates: the SDK's unknown values into the lifecycle's, the `stackguardian:*` config, the
hidden ``configuration`` input (interrupted creates), and the answers into the SDK's result
types. Which properties exist and how they map is :mod:`.properties`; what the Pulumi CLI is
shown (warnings, scrubbed error texts) is :mod:`.messages`, and :mod:`.error_reports` makes the
SDK's server send an error's text alone, without a traceback.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

from pulumi import dynamic

from ..engine import Engine
from ..errors import BitbucketConnectorError
from ..redact import escape_control
from ..wording import PULUMI_WORDING
from . import error_reports
from .lifecycle import SETTING_OF_CONFIG, UNKNOWN, Lifecycle, PulumiFront
from .properties import (
    ADDITIONAL_SECRET_OUTPUTS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    SECRET_KEYS,
    configuration_of,
    connector_data,
    inputs_from_outputs,
    is_unknown,
    property_of,
)

TYPE_TOKEN = "pulumi-python:dynamic/stackguardian:BitbucketConnector"
CONFIG_NAMESPACE = "stackguardian"
DYNAMIC_FRONT = PulumiFront(wording=PULUMI_WORDING, property_name=str, one_line=False,
                            read_by_id="BitbucketConnector.get", import_notes=False)


def _warn(text: str) -> None:
    """Provider stderr is passed through to the Pulumi CLI (the lifecycle says each text once; escaping
    control characters again here is harmless, and keeps anything else that calls this safe)."""
    print(f"warning: BitbucketConnector: {escape_control(text)}", file=sys.stderr, flush=True)


def _values(props: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK's properties as the lifecycle's flat values: an unknown (preview) value is :data:`UNKNOWN`."""
    return {k: UNKNOWN if is_unknown(v) else v for k, v in props.items() if not k.startswith("__")}


_RUNTIME_LOCK = threading.Lock()


class BitbucketConnectorProvider(dynamic.ResourceProvider):
    """Pulumi ResourceProvider for ``BitbucketConnector``; holds no state when pickled."""

    def __init__(self) -> None:
        super().__init__()

    # The pickled form is empty on purpose: no setting, client or secret can reach `__provider`.
    def __getstate__(self) -> dict[str, Any]:
        return {"format": 1}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        pass

    def _lifecycle(self) -> Lifecycle:
        """Built in the provider process on first use: never pickled, never in state."""
        lifecycle = self.__dict__.get("_lifecycle_state")
        if lifecycle is None:
            with _RUNTIME_LOCK:
                lifecycle = self.__dict__.get("_lifecycle_state")
                if lifecycle is None:
                    lifecycle = Lifecycle(DYNAMIC_FRONT, _warn)
                    self.__dict__["_lifecycle_state"] = lifecycle
        return lifecycle

    def _engine(self, org: str | None = None) -> Engine:
        return self._lifecycle().engine(org)

    # ------------------------------------------------------------------ ResourceProvider API
    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Keep the `stackguardian:*` stack config; the environment is added on first use."""
        error_reports.install(BitbucketConnectorError)  # the CLI shows our message, not a traceback
        self._lifecycle().configure({key: req.config.get(f"{CONFIG_NAMESPACE}:{key}") for key in SETTING_OF_CONFIG})

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Schema, timeline and (once the credential is known) preflight, so `preview` fails early."""
        checked = self._lifecycle().check(_values(olds), _values(news), resource_name="",
                                          configuration=configuration_of(news))
        return dynamic.CheckResult(news, [dynamic.CheckFailure(f.key, f.reason) for f in checked.failures])

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Desired (news) vs state (olds are the previous OUTPUTS), through the pure planner; no I/O."""
        difference = self._lifecycle().diff(id_, _values(olds), _values(news))
        return dynamic.DiffResult(changes=difference.changes, replaces=difference.replaces,
                                  delete_before_replace=bool(difference.replaces))

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Create, or adopt an existing connector with the same Id when ``adopt=True``."""
        connector_id, outs = self._lifecycle().create(_values(props), preview=False,
                                                      configuration=configuration_of(props))
        return dynamic.CreateResult(connector_id, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """Plan against the live connector and the state's snapshot; always return ALL outputs."""
        return dynamic.UpdateResult(self._lifecycle().update(id_, _values(olds), _values(news), preview=False))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Refresh and ``BitbucketConnector.get``: what StackGuardian reports now, secrets kept from state.

        ``BitbucketConnector.get`` has no prior state (the SDK's server always adds ``__provider``, so
        the lifecycle is told by the state's own keys); a connector that is not there is then an error,
        not an empty resource."""
        state = {k: v for k, v in _values(props).items() if k in OUTPUT_KEYS and v is not None}
        read = self._lifecycle().read(id_, state, {})
        if read.connector_id is None:
            return dynamic.ReadResult(None, {})  # deleted outside: refresh drops it from state
        return dynamic.ReadResult(read.connector_id, read.outputs, inputs_from_outputs(read.outputs))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete in the org the state recorded; a connector already gone is fine."""
        self._lifecycle().delete(id_, _values(props))


__all__ = [
    "ADDITIONAL_SECRET_OUTPUTS",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "SECRET_KEYS",
    "TYPE_TOKEN",
    "BitbucketConnectorError",
    "BitbucketConnectorProvider",
    "connector_data",
    "property_of",
]
