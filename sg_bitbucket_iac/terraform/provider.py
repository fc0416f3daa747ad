"""The `sgbitbucket` provider: settings in, one Engine out, shared by every resource and data source."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tf import schema, types
from tf.iface import Config, DataSource, Provider, Resource
from tf.types import Unknown
from tf.utils import Diagnostics

from .. import timeline
from ..errors import ConfigurationError
from . import PROVIDER_NAME, PROVIDER_SOURCE

if TYPE_CHECKING:  # settings, secrets and the engine (pydantic) load on first use, after the plugin handshake
    from ..engine import Engine

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

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ  # None: the process environment (tests pass their own)
        self.engine: Engine | None = None
        self.configured_with_unknowns = False
        self.startup_warnings: list[str] = []  # said at configure: the plugin has no other way to speak

    def get_model_prefix(self) -> str:
        return f"{PROVIDER_NAME}_"

    def full_name(self) -> str:
        return PROVIDER_SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> schema.Schema:
        return schema.Schema(
            description="StackGuardian Bitbucket VCS connectors, with credential preflight against Bitbucket.",
            attributes=[
                schema.Attribute("api_key", types.String(), optional=True, sensitive=True,
                                 description="StackGuardian API key; else `SG_API_TOKEN` or `STACKGUARDIAN_API_KEY`."),
                schema.Attribute("api_uri", types.String(), optional=True,
                                 description="StackGuardian API base (default https://api.app.stackguardian.io); "
                                 "else `SG_BASE_URL` or `STACKGUARDIAN_API_URI`."),
                schema.Attribute("org_name", types.String(), optional=True,
                                 description="StackGuardian org; else `SG_ORG` or `STACKGUARDIAN_ORG_NAME`."),
                schema.Attribute("bitbucket_api_url", types.String(), optional=True,
                                 description="Bitbucket API base for preflight (default "
                                 "https://api.bitbucket.org/2.0); else `BITBUCKET_API_URL`."),
                schema.Attribute("preflight", types.Bool(), optional=True,
                                 description="Check credentials against Bitbucket before writing them "
                                 "(default true; a resource's `preflight` overrides it)."),
            ],
        )

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        """Static checks of explicitly set values (env values are checked in configure)."""
        from ..settings import checked_base_url

        for attribute in _URL_ATTRIBUTES:
            value = (config or {}).get(attribute)
            if isinstance(value, str):
                try:
                    checked_base_url(value, attribute)
                except ConfigurationError as exc:
                    diags.add_error(f"Invalid {attribute}", str(exc), path=[attribute])

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        config = config or {}
        self.engine = None
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
        from ..wording import TERRAFORM_WORDING

        explicit = {SETTING_OF_ATTRIBUTE[a]: config.get(a) for a in SETTING_OF_ATTRIBUTE}
        try:
            settings = Settings.resolve(**explicit, environ=self.environ, names=TERRAFORM_WORDING.setting_names)
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
            from ..wording import TERRAFORM_WORDING

            self.engine = Engine(settings, front=TERRAFORM_WORDING, client=BatchedClient.from_settings(settings))
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
