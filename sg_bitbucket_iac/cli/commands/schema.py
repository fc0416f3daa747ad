"""`sg-bitbucket schema`: the JSON Schema of a definitions file, for editors (yaml-language-server).

Save it next to the definitions and name it in the file's first line::

    sg-bitbucket schema > connectors.schema.json
    # yaml-language-server: $schema=./connectors.schema.json

Always JSON on stdout (``--json`` changes nothing); nothing is read or sent anywhere.
"""

from __future__ import annotations

from ..definitions_schema import definitions_schema
from ..exit_codes import EXIT_OK
from .common import Context


def run(ctx: Context) -> int:
    ctx.out.json(definitions_schema())
    return EXIT_OK
