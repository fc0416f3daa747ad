"""Registry-style docs of the ``sgbitbucket`` Pulumi package, generated from its schema.

``python -m sg_bitbucket_iac.pulumi.native.docs SCHEMA.json DIR`` writes, in the layout of a
package on the Pulumi Registry: ``_index.md`` (overview), ``installation-configuration.md``, and
one API page per resource and function under ``api/``. Every property, type and description comes
from the schema (the same one the SDKs are generated from); `scripts/gen-pulumi-sdks` runs this,
and CI fails when the committed pages differ from what it writes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .schema import FUNCTION_TOKEN, GO_IMPORT_BASE, NODE_PACKAGE, PYTHON_PACKAGE, RESOURCE_TOKEN

# The same program in each language: one API-token connector, its Id exported.
EXAMPLES: dict[str, tuple[str, str]] = {
    "yaml": ("YAML", """\
config:
  bbApiToken:
    type: string
    secret: true
resources:
  main:
    type: sgbitbucket:Connector
    properties:
      name: bitbucket-main
      workspace: acme
      authType: api_token
      username: alice
      email: alice@acme.io
      apiToken: ${bbApiToken}
outputs:
  connectorId: ${main.connectorId}
"""),
    "typescript": ("TypeScript", f"""\
import * as pulumi from "@pulumi/pulumi";
import * as sgbitbucket from "{NODE_PACKAGE}";

const config = new pulumi.Config();
const main = new sgbitbucket.Connector("main", {{
    name: "bitbucket-main",
    workspace: "acme",
    authType: sgbitbucket.AuthType.ApiToken,
    username: "alice",
    email: "alice@acme.io",
    apiToken: config.requireSecret("bbApiToken"),
}});
export const connectorId = main.connectorId;
"""),
    "python": ("Python", f"""\
import pulumi
import {PYTHON_PACKAGE} as sgbitbucket

config = pulumi.Config()
main = sgbitbucket.Connector(
    "main",
    name="bitbucket-main",
    workspace="acme",
    auth_type=sgbitbucket.AuthType.API_TOKEN,
    username="alice",
    email="alice@acme.io",
    api_token=config.require_secret("bbApiToken"),
)
pulumi.export("connectorId", main.connector_id)
"""),
    "go": ("Go", f"""\
package main

import (
\t"{GO_IMPORT_BASE}"
\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {{
\tpulumi.Run(func(ctx *pulumi.Context) error {{
\t\tcfg := config.New(ctx, "")
\t\tmain, err := sgbitbucket.NewConnector(ctx, "main", &sgbitbucket.ConnectorArgs{{
\t\t\tName:      pulumi.String("bitbucket-main"),
\t\t\tWorkspace: pulumi.String("acme"),
\t\t\tAuthType:  sgbitbucket.AuthTypeApiToken,
\t\t\tUsername:  pulumi.String("alice"),
\t\t\tEmail:     pulumi.String("alice@acme.io"),
\t\t\tApiToken:  cfg.RequireSecret("bbApiToken"),
\t\t}})
\t\tif err != nil {{
\t\t\treturn err
\t\t}}
\t\tctx.Export("connectorId", main.ConnectorId)
\t\treturn nil
\t}})
}}
"""),
}
LOOKUP_EXAMPLE = """\
variables:
  existing:
    fn::invoke:
      function: sgbitbucket:getConnector
      arguments:
        connectorId: bitbucket_main
      return: authType
"""


def _cell(text: str) -> str:
    """A schema text in a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(spec: Mapping[str, Any]) -> str:
    ref = spec.get("$ref")
    if ref:
        return ref.rsplit(":", 1)[-1] + " (enum)"
    if spec.get("type") == "array":
        return f"list of {spec['items']['type']}"
    return str(spec.get("type", "string"))


def _table(properties: Mapping[str, Mapping[str, Any]], required: set[str]) -> list[str]:
    lines = ["| property | type | required | description |", "|---|---|---|---|"]
    for name, spec in properties.items():
        secret = " **secret**" if spec.get("secret") else ""
        lines.append(f"| `{name}` | {_type(spec)}{secret} | {'yes' if name in required else 'no'} | "
                     f"{_cell(spec.get('description', ''))} |")
    return lines


def _front(title: str, description: str, layout: str = "package") -> list[str]:
    return ["---", f"title: {json.dumps(title)}", f"meta_desc: {json.dumps(_cell(description))}",
            f"layout: {layout}", "---", ""]


def _examples() -> list[str]:
    lines: list[str] = []
    for language, (title, code) in EXAMPLES.items():
        lines += [f"### {title}", "", f"```{language}", code.rstrip(), "```", ""]
    return lines


def _enums(schema: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for token, spec in schema.get("types", {}).items():
        lines += [f"### {token.rsplit(':', 1)[-1]}", "", _cell(spec.get("description", "")), "",
                  "| value | name in SDKs | description |", "|---|---|---|"]
        lines += [f"| `{e['value']}` | `{e['name']}` | {_cell(e.get('description', ''))} |" for e in spec["enum"]]
        lines.append("")
    return lines


def index_page(schema: Mapping[str, Any]) -> str:
    lines = _front(schema["displayName"], schema["description"])
    lines += [
        f"The `{schema['name']}` package manages StackGuardian's Bitbucket VCS connectors from every Pulumi "
        "language: create them, switch their credentials between auth types in place, import the ones clicked "
        "together in the UI, and see changes made outside. Credentials are checked against Bitbucket before "
        "anything is written (preflight), at `pulumi preview` already.",
        "",
        "Resources and functions:",
        "",
        f"* [`{RESOURCE_TOKEN}`](api/connector.md): {_cell(schema['resources'][RESOURCE_TOKEN]['description'])}",
        f"* [`{FUNCTION_TOKEN}`](api/getconnector.md): {_cell(schema['functions'][FUNCTION_TOKEN]['description'])}",
        "",
        "See [Installation & Configuration](installation-configuration.md) to set it up.",
        "",
        "## Example",
        "",
        *_examples(),
    ]
    return "\n".join(lines).rstrip() + "\n"


def installation_page(schema: Mapping[str, Any]) -> str:
    name, version = schema["name"], schema["version"]
    config = schema["config"]["variables"]
    lines = _front(f"{schema['displayName']}: Installation & Configuration",
                   f"How to install and configure the {name} provider.")
    lines += [
        "## Installation",
        "",
        f"The provider plugin `pulumi-resource-{name}` is a console script of the Python package "
        f"`sg-bitbucket-iac` ({version}); the SDKs are generated from its schema:",
        "",
        f"* **Node.js** (`{NODE_PACKAGE}`): build `sdk/nodejs` of the repository (`npm install && npx tsc`) and "
        "add it as a dependency (`npm install path/to/sdk/nodejs/bin`).",
        f"* **Python** (`{PYTHON_PACKAGE}`): `pip install path/to/sdk/python`.",
        f"* **Go**: `go get {GO_IMPORT_BASE.rsplit('/', 1)[0]}` (module in `sdk/go`; or a `replace` to a checkout).",
        "* **YAML**: nothing to install; use the type `sgbitbucket:Connector`.",
        "",
        "The plugin, in either of the ways Pulumi finds plugins:",
        "",
        "1. **On `PATH`**: `pip install sg-bitbucket-iac` puts `pulumi-resource-sgbitbucket` in the environment's "
        "`bin`; with it on `PATH` (an activated venv), the CLI uses it and says so (`warning: using "
        "pulumi-resource-sgbitbucket from $PATH`). `PULUMI_IGNORE_AMBIENT_PLUGINS=true` makes the CLI ignore "
        "plugins on `PATH` and use only installed ones.",
        "2. **Installed into the plugin cache** from a tarball the package writes:",
        "",
        "```sh",
        "sg-bitbucket pulumi-plugin /tmp/plugins",
        f"pulumi plugin install resource {name} {version} --file /tmp/plugins/pulumi-resource-{name}-v{version}"
        ".tar.gz",
        "```",
        "",
        "   The tarball holds a small launcher, the same bytes on every machine for one package version; it "
        "runs the provider of the `sg-bitbucket-iac` installation it finds at run time "
        "(`SG_BITBUCKET_IAC_PULUMI_PROVIDER`, the path of a `pulumi-resource-sgbitbucket` console script, if set; "
        "else that console script in `PATH`'s absolute folders), and says in one line what to do when it finds "
        "none, or an installation of another version.",
        "",
        "## Configuration",
        "",
        "Set these as stack configuration (`pulumi config set sgbitbucket:org acme`; the API key with "
        "`--secret`), or on an explicit `sgbitbucket.Provider`. Unset values fall back to the environment:",
        "",
        *_table(config, set()),
        "",
        "Plain `http://` URLs are refused unless the host is loopback (a local emulator).",
    ]
    return "\n".join(lines).rstrip() + "\n"


def resource_page(schema: Mapping[str, Any]) -> str:
    spec = schema["resources"][RESOURCE_TOKEN]
    lines = _front("Connector", spec["description"], layout="api")
    lines += [f"# {RESOURCE_TOKEN}", "", _cell(spec["description"]), "", "## Example Usage", "", *_examples()]
    lines += ["## Inputs", "", *_table(spec["inputProperties"], set(spec.get("requiredInputs", []))), ""]
    outputs = {k: v for k, v in spec["properties"].items() if k not in spec["inputProperties"]}
    lines += ["## Outputs", "",
              "Every input but `preflight` and `adopt` is also an output (secrets stay secret); the resource's "
              "`id` is the connector Id. The outputs only StackGuardian knows:",
              "", *_table(outputs, set(spec.get("required", []))), ""]
    lines += ["## Supporting Types", "", *_enums(schema)]
    lines += [
        "## Import",
        "",
        "An existing connector is imported by its StackGuardian Id:",
        "",
        "```sh",
        f"pulumi import {RESOURCE_TOKEN} main bitbucket_main",
        "```",
        "",
        "or with the `import` resource option (`options: {import: bitbucket_main}` in YAML). StackGuardian never "
        "returns a secret: set the credential in the program; the next preview shows only it being set (and, "
        "for a connector this tool did not write, the workspace and username StackGuardian does not show).",
    ]
    return "\n".join(lines).rstrip() + "\n"


def function_page(schema: Mapping[str, Any]) -> str:
    spec = schema["functions"][FUNCTION_TOKEN]
    lines = _front("getConnector", spec["description"], layout="api")
    lines += [f"# {FUNCTION_TOKEN}", "", _cell(spec["description"]), "", "## Example Usage", "",
              "```yaml", LOOKUP_EXAMPLE.rstrip(), "```", ""]
    lines += ["## Arguments", "", "Give exactly one.", "", *_table(spec["inputs"]["properties"], set()), ""]
    lines += ["## Result", "", *_table(spec["outputs"]["properties"], set(spec["outputs"].get("required", [])))]
    return "\n".join(lines).rstrip() + "\n"


def pages(schema: Mapping[str, Any]) -> dict[str, str]:
    """Relative path -> page text."""
    return {
        "_index.md": index_page(schema),
        "installation-configuration.md": installation_page(schema),
        "api/connector.md": resource_page(schema),
        "api/getconnector.md": function_page(schema),
    }


def write(schema: Mapping[str, Any], folder: Path) -> list[Path]:
    written = []
    for relative, text in pages(schema).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m sg_bitbucket_iac.pulumi.native.docs SCHEMA.json DIR", file=sys.stderr)
        return 2
    schema = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    for path in write(schema, Path(args[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
