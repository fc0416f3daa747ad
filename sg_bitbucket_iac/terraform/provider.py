"""The `sgbitbucket` provider: settings in, one Engine out, shared by every resource and data source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tf import schema, types
from tf.iface import Config, DataSource, Provider, Resource
from tf.types import Unknown
from tf.utils import Diagnostics

from .. import field_docs, timeline
from ..errors import ConfigurationError
from . import PROVIDER_NAME, PROVIDER_SOURCE

if TYPE_CHECKING:  # settings, secrets and the engine (pydantic) load on first use, after the plugin handshake
    from ..engine import Engine
    from ..wording import FrontWording

# Provider attribute -> Settings.resolve keyword (env fallbacks are Settings' business).
SETTING_OF_ATTRIBUTE = {
    "api_key": "api_key",
    "api_uri": "api_url",
    "org_name": "org",
    "bitbucket_api_url": "bitbucket_api_url",
    "preflight": "preflight",
}
_URL_ATTRIBUTES = ("api_uri", "bitbucket_api_url")


class SGBitbucketProvider(Provider):
    """Builds the Engine once in configure_provider; resources reach it through `require_engine`."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, destroying: bool | None = None,
                 engine_name: str | None = None) -> None:
        self.environ = environ  # None: the process environment (tests pass their own)
        self.engine: Engine | None = None
        self.configured_with_unknowns = False
        self._destroying = destroying  # None: ask the engine's command line (invocation.py)
        self._engine_name = engine_name  # `terraform`/`tofu`; None: ask the engine's command line
        self._wording: FrontWording | None = None
        self._other_orgs: dict[str, Engine] = {}  # engines on orgs the state names (an `org_name` changed)
        # Which configuration this provider runs for: its interrupted creates are finished, no one else's.
        self.configuration: str | None = None
        self.startup_warnings: list[str] = []  # said at configure: the plugin has no other way to speak

    @property
    def wording(self) -> FrontWording:
        """The Terraform table in the words of the engine that runs this provider: its commands named
        when its command line tells which engine it is (invocation.py), engine-neutral otherwise."""
        if self._wording is None:
            from ..wording import terraform_wording
            from .invocation import engine_invocation

            self._wording = terraform_wording(self._engine_name or engine_invocation().engine)
        return self._wording

    @property
    def destroying(self) -> bool:
        """Whether this process serves a destroy, whose plans check nothing meant for writing."""
        if self._destroying is None:
            from .invocation import engine_invocation

            self._destroying = engine_invocation().destroying
        return self._destroying

    def get_model_prefix(self) -> str:
        return f"{PROVIDER_NAME}_"

    def full_name(self) -> str:
        return PROVIDER_SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> schema.Schema:
        return schema.Schema(
            description=field_docs.PROVIDER,
            attributes=[
                schema.Attribute(attribute, types.Bool() if setting == "preflight" else types.String(), optional=True,
                                 sensitive=setting == "api_key",
                                 description=field_docs.describe(field_docs.SETTINGS[setting], lambda key: key))
                for attribute, setting in SETTING_OF_ATTRIBUTE.items()
            ],
        )

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        """Static checks of explicitly set values (env values are checked in configure)."""
        from ..settings import checked_base_url, checked_org

        checks: dict[str, Callable[[str, str], object]] = {
            **dict.fromkeys(_URL_ATTRIBUTES, checked_base_url), "org_name": checked_org}
        for attribute, check in checks.items():
            value = (config or {}).get(attribute)
            if isinstance(value, str):
                try:
                    check(value, attribute)
                except ConfigurationError as exc:
                    diags.add_error(f"Invalid {attribute}", str(exc), path=[attribute])

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        config = config or {}
        self.engine = None
        self._other_orgs = {}
        for warning in self.startup_warnings:
            diags.add_warning("sgbitbucket provider", warning)
        self.configured_with_unknowns = any(config.get(a) is Unknown for a in SETTING_OF_ATTRIBUTE)
        if self.configured_with_unknowns:
            # Terraform plans with a provider whose config depends on other resources; we cannot
            # talk to StackGuardian yet. Plan-time checks are skipped; apply gets known values.
            diags.add_warning("Provider configuration not known until apply",
                              "sgbitbucket skips plan-time checks (preflight, existing connectors) this run.")
            return
        from ..settings import Settings

        explicit = {SETTING_OF_ATTRIBUTE[a]: config.get(a) for a in SETTING_OF_ATTRIBUTE}
        try:
            settings = Settings.resolve(**explicit, environ=self.environ, names=self.wording.setting_names)
        except ConfigurationError as exc:
            diags.add_error("Invalid provider configuration", str(exc))
            return
        for attribute, require in (("api_key", settings.require_api_key), ("org_name", settings.require_org)):
            try:
                require()
            except ConfigurationError as exc:
                diags.add_error(f"Missing {attribute}", str(exc), path=[attribute])
        if diags.has_errors():
            return
        try:
            from ..batch_read import BatchedClient  # concurrent ReadResource calls share one listall scan
            from ..engine import Engine
            from .configuration import configuration_identity

            self.engine = Engine(settings, front=self.wording, client=BatchedClient.from_settings(settings))
            self.configuration = configuration_identity(self.environ)
        except ConfigurationError as exc:
            diags.add_error("Invalid provider configuration", str(exc))

    def require_engine(self, diags: Diagnostics) -> Engine | None:
        """The Engine, or an error diagnostic saying why there is none."""
        if self.engine is None:
            diags.add_error(
                "sgbitbucket provider not configured",
                "The provider configuration is unknown or invalid; set api_key and org_name (or "
                "STACKGUARDIAN_API_KEY and STACKGUARDIAN_ORG_NAME) to values known at plan time.",
            )
        return self.engine

    def engine_for(self, org: Any, diags: Diagnostics) -> Engine | None:
        """The engine on the org a resource's state names (it lives there until it is replaced), else
        the configured one; None with an error diagnostic when there is none."""
        engine = self.require_engine(diags)
        if engine is None or not isinstance(org, str) or not org or org == engine.org:
            return engine
        if org not in self._other_orgs:
            from dataclasses import replace

            from ..batch_read import BatchedClient
            from ..engine import Engine
            from ..settings import checked_text

            try:
                settings = replace(engine.settings, org=checked_text(org, "org"))
                self._other_orgs[org] = Engine(settings, front=self.wording,
                                               client=BatchedClient.from_settings(settings))
            except ConfigurationError as exc:
                diags.add_error("Invalid org in the state", str(exc), path=["org"])
                return None
        return self._other_orgs[org]

    def now(self) -> datetime:
        """The backend clock (SG_BITBUCKET_IAC_NOW honoured), also before configure (validate walk)."""
        return self.engine.now() if self.engine is not None else timeline.now()

    def get_resources(self) -> list[type[Resource]]:
        from .connector_resource import ConnectorResource

        return [ConnectorResource]

    def get_data_sources(self) -> list[type[DataSource]]:
        from .connector_data_source import ConnectorDataSource

        return [ConnectorDataSource]

    def get_functions(self) -> list[Any]:
        return []
