"""Drive the Terraform resource functions the way Terraform core does, without Terraform.

`TerraformSim` reproduces the two things Terraform (not the provider) decides: the proposed new
state (config values; prior values for computed attributes the config leaves null) and which
attributes changed; then it calls the resource's plan/create/update/read like tf's servicer does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tf.iface import CreateContext, DeleteContext, ImportContext, PlanContext, ReadContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform import private
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

ORG = "acme"
API_KEY = "sgo_test_key"
TYPE = "sgbitbucket_connector"
SCHEMA = {a.name: a for a in ConnectorResource.get_schema().attributes}


def config(**values: Any) -> dict[str, Any]:
    """A resource config as Terraform sends it: every attribute present, null when not set."""
    data = dict.fromkeys(SCHEMA)
    data.update(values)
    return data


def api_token_config(token: Any, **values: Any) -> dict[str, Any]:
    base = {"name": "bitbucket-main", "workspace": "acme", "auth_type": "api_token",
            "username": "alice", "email": "alice@acme.io", "api_token": token}
    base.update(values)
    return config(**base)


def access_token_config(token: Any, **values: Any) -> dict[str, Any]:
    base = {"name": "bitbucket-main", "workspace": "acme", "auth_type": "access_token",
            "access_token": token, "repository": "infra"}
    base.update(values)
    return config(**base)


class TerraformSim:
    """One resource instance's calls, in order; ``private`` is the private state Terraform would carry
    between them (import -> read -> plan -> apply), so the calls see what the servicer gives them."""

    def __init__(self, resource: ConnectorResource) -> None:
        self.resource = resource
        self.private = b""

    @contextmanager
    def _carrying_private(self) -> Iterator[None]:
        with private.exchange(self.private) as call:
            yield
        self.private = call.sent.encode()

    @staticmethod
    def proposed(prior: dict[str, Any] | None, cfg: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name, attribute in SCHEMA.items():
            value = cfg.get(name)
            if value is None and attribute.computed:
                value = prior.get(name) if prior is not None else attribute.default
            state[name] = value
        return state

    def validate(self, cfg: dict[str, Any]) -> Diagnostics:
        diags = Diagnostics()
        self.resource.validate(diags, TYPE, cfg)
        return diags

    def plan(self, prior: dict[str, Any] | None, cfg: dict[str, Any]) -> tuple[dict[str, Any], Diagnostics, set[str]]:
        diags = self.validate(cfg)
        if diags.has_errors():
            return {}, diags, set()
        proposed = self.proposed(prior, cfg)
        if prior is None:
            changed = set(proposed)
        else:
            changed = {k for k in proposed if SCHEMA[k].type.semantically_equal(prior.get(k), proposed[k]) is False}
        with self._carrying_private():
            planned = self.resource.plan(PlanContext(diags, TYPE, changed_fields=changed), prior, dict(proposed))
        return planned, diags, changed

    def apply(self, prior: dict[str, Any] | None, planned: dict[str, Any]) -> tuple[dict[str, Any] | None, Diagnostics]:
        diags = Diagnostics()
        with self._carrying_private():
            if prior is None:
                state = self.resource.create(CreateContext(diags, TYPE), dict(planned))
            else:
                state = self.resource.update(UpdateContext(diags, TYPE), dict(prior), dict(planned))
        if state is not None and not diags.has_errors():
            for name, value in planned.items():  # Terraform's "inconsistent result after apply" check
                assert value is Unknown or state[name] == value, f"{name}: planned {value!r}, got {state[name]!r}"
        return state, diags

    def plan_and_apply(self, prior: dict[str, Any] | None, cfg: dict[str, Any]) -> dict[str, Any]:
        planned, diags, _ = self.plan(prior, cfg)
        assert not diags.has_errors(), str(diags)
        state, diags = self.apply(prior, planned)
        assert state is not None and not diags.has_errors(), str(diags)
        return state

    def read(self, state: dict[str, Any]) -> tuple[dict[str, Any] | None, Diagnostics]:
        diags = Diagnostics()
        with self._carrying_private():
            return self.resource.read(ReadContext(diags, TYPE), dict(state)), diags

    def delete(self, state: dict[str, Any]) -> Diagnostics:
        diags = Diagnostics()
        self.resource.delete(DeleteContext(diags, TYPE), dict(state))
        return diags

    def import_(self, connector_id: str) -> tuple[dict[str, Any] | None, Diagnostics]:
        diags = Diagnostics()
        self.private = b""
        with self._carrying_private():
            return self.resource.import_(ImportContext(diags, TYPE), connector_id), diags


def configured_provider(emulator: Emulator, *, destroying: bool = False, **overrides: Any) -> SGBitbucketProvider:
    """A provider on the emulator; ``destroying``: as the engine's command line would say for a destroy."""
    provider = SGBitbucketProvider(environ={}, destroying=destroying)
    diags = Diagnostics()
    provider.configure_provider(diags, {
        "api_key": API_KEY, "org_name": ORG, "api_uri": emulator.stackguardian_url,
        "bitbucket_api_url": emulator.bitbucket_url, "preflight": False, **overrides,
    })
    assert not diags.has_errors(), str(diags)
    assert provider.engine is not None
    provider.engine.preflight_backoff = 0.0
    return provider
