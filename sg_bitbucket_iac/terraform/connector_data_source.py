"""Data source `sgbitbucket_connector`: an existing connector by `connector_id` or `name`, secrets never."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf import schema, types
from tf.iface import Config, DataSource, ReadDataContext
from tf.utils import Diagnostics

from .. import field_docs
from ..identifiers import Identifier
from ..redact import shorten
from ..wire import ObservedConnector, observed_from_record
from . import attributes as attrs

if TYPE_CHECKING:
    from ..stackguardian import StackGuardianClient
    from .provider import SGBitbucketProvider

_COMPUTED: tuple[str, ...] = (
    "id", "workspace", "description", "auth_type", "username", "email", "access_token_scope", "repository",
    "project", "modified_at",
)


def _doc(key: str) -> str:
    """The shared lookup text (:mod:`sg_bitbucket_iac.field_docs`) with names as Terraform spells them."""
    return field_docs.describe(field_docs.LOOKUP[key], lambda name: name)


class ConnectorDataSource(DataSource):
    """Reads through the same Engine as the resource; by name it uses listall's ResourceNames filter."""

    def __init__(self, provider: SGBitbucketProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "connector"

    @classmethod
    def get_schema(cls) -> schema.Schema:
        return schema.Schema(
            description=field_docs.describe(field_docs.CONNECTOR_LOOKUP, lambda name: name),
            attributes=[
                schema.Attribute("connector_id", types.String(), optional=True, computed=True,
                                 description=_doc("connector_id")),
                schema.Attribute("name", types.String(), optional=True, computed=True,
                                 description=_doc("name")),
                *(schema.Attribute(n, types.String(), computed=True, description=_doc(n)) for n in _COMPUTED),
                schema.Attribute("tags", types.List(types.String()), computed=True,
                                 description=_doc("tags")),
                schema.Attribute("authenticated", types.Bool(), computed=True,
                                 description=_doc("authenticated")),
            ],
        )

    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        DataSource.validate(self, diags, type_name, config)
        given = [k for k in ("connector_id", "name") if (config or {}).get(k) is not None]
        if len(given) != 1:
            diags.add_error("Give exactly one of connector_id and name",
                            f"sgbitbucket_connector looks a connector up by its Id or by its name; got "
                            f"{' and '.join(given) or 'neither'}.")

    def read(self, ctx: ReadDataContext, config: Config) -> attrs.State | None:
        engine = self.provider.require_engine(ctx.diagnostics)
        if engine is None:
            return None
        connector_id, name = config.get("connector_id"), config.get("name")
        if connector_id and attrs.checked_identifier(ctx.diagnostics, Identifier.CONNECTOR_ID, connector_id,
                                                     "Invalid connector_id", "connector_id") is None:
            return None
        try:
            if connector_id:
                # A field of the wrong type is no reason to stop the plan that reads it: what could be
                # read is returned, and a warning names the rest (Id, kind and ContextTags must be readable).
                observed, unreadable = engine.read_leniently(connector_id)
                if unreadable is not None:
                    ctx.diagnostics.add_warning(f"Connector {connector_id}: part of its StackGuardian record "
                                                "cannot be read", "; ".join(unreadable.findings))
                if observed is None:
                    ctx.diagnostics.add_error(f"No connector {connector_id}",
                                              f"StackGuardian org {engine.org} has no connector with that Id.",
                                              path=["connector_id"])
                    return None
            else:
                observed = self._by_name(ctx.diagnostics, engine.client, str(name), engine.org)
                if observed is None:
                    return None
        except Exception as exc:
            attrs.report_error(ctx.diagnostics, "Could not read the connector", exc)
            return None
        if not observed.is_bitbucket:
            ctx.diagnostics.add_error(f"Connector {observed.id} is not a Bitbucket connector",
                                      f"Its kind is {observed.kind or 'unknown'}.")
            return None
        return attrs.data_source_state(observed)

    @staticmethod
    def _by_name(
        diags: Diagnostics, client: StackGuardianClient, name: str, org: str
    ) -> ObservedConnector | None:
        records = client.list_all(resource_names=[name])
        matches = [o for o in map(observed_from_record, records) if o.name == name and o.is_bitbucket]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            diags.add_error(f"No connector named {shorten(name)}",
                            f"StackGuardian org {org} has no Bitbucket connector with that ResourceName.",
                            path=["name"])
        else:
            diags.add_error(f"{len(matches)} connectors named {shorten(name)}",
                            f"Ids: {', '.join(sorted(o.id for o in matches))}; look it up by connector_id.",
                            path=["name"])
        return None
