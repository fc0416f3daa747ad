"""The package schema: the published names, secrets, enums, and the shared field texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sg_bitbucket_iac import field_docs
from sg_bitbucket_iac.pulumi.native import schema

REPO = Path(__file__).resolve().parents[3]


def test_the_contract_names() -> None:
    spec = schema.package_schema()
    assert spec["name"] == "sgbitbucket"
    assert set(spec["resources"]) == {"sgbitbucket:index:Connector"}
    assert set(spec["functions"]) == {"sgbitbucket:index:getConnector"}
    assert list(spec["config"]["variables"]) == ["apiKey", "apiUrl", "org", "bitbucketApiUrl", "preflight"]
    assert spec["config"]["variables"]["apiKey"]["secret"] is True
    connector = spec["resources"]["sgbitbucket:index:Connector"]
    assert list(connector["inputProperties"]) == [
        "name", "connectorId", "description", "tags", "workspace", "authType", "username", "email", "apiToken",
        "accessToken", "accessTokenScope", "repository", "project", "appPassword", "preflight", "adopt"]
    assert {"org", "authenticated", "createdAt", "modifiedAt", "credentialsFingerprint"} <= set(connector["properties"])
    secret = {k for k, v in connector["properties"].items() if v.get("secret")}
    assert secret == {"apiToken", "accessToken", "appPassword", "credentialsFingerprint"}
    enums = {t: [e["value"] for e in v["enum"]] for t, v in spec["types"].items()}
    assert enums == {"sgbitbucket:index:AuthType": ["api_token", "access_token", "app_password"],
                     "sgbitbucket:index:AccessTokenScope": ["repository", "project", "workspace"]}


def test_descriptions_are_the_shared_texts_with_pulumi_names() -> None:
    connector = schema.package_schema()["resources"]["sgbitbucket:index:Connector"]
    scope = connector["inputProperties"]["accessTokenScope"]["description"]
    assert scope == field_docs.describe(field_docs.RESOURCE["access_token_scope"], schema.camel)
    for spec in connector["properties"].values():
        assert spec["description"]
        assert not re.search(r"`[a-z]+_[a-z_]+`", spec["description"]), spec["description"]  # no snake_case name


def test_the_committed_schema_is_current() -> None:
    """sdk/schema.json is what GetSchema answers (scripts/gen-pulumi-sdks writes it)."""
    assert json.loads((REPO / "sdk" / "schema.json").read_text()) == schema.package_schema()
