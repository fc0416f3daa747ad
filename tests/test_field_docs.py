"""The shared field texts: every schema that documents a field reads it from one place."""

from __future__ import annotations

import re

from sg_bitbucket_iac import field_docs, settings
from sg_bitbucket_iac.flatstate import CREDENTIAL_KEYS, DESCRIPTIVE_KEYS


def test_every_flat_key_has_a_text() -> None:
    for key in (*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS):
        assert field_docs.RESOURCE[key].strip(), key


def test_references_name_known_keys() -> None:
    """A `{key}` in a text is an attribute some front can name (a typo would print as `{typo}`)."""
    known = {*field_docs.RESOURCE, *field_docs.LOOKUP, *field_docs.SETTINGS}
    texts = [field_docs.CONNECTOR, field_docs.CONNECTOR_LOOKUP, *field_docs.RESOURCE.values(),
             *field_docs.LOOKUP.values(), *field_docs.SETTINGS.values()]
    for text in texts:
        for key in re.findall(r"\{([a-z_]+)\}", text):
            assert key in known, (key, text)


def test_describe_spells_names_per_front() -> None:
    text = field_docs.RESOURCE["connector_id"]
    assert field_docs.describe(text, lambda key: key).startswith("StackGuardian Id; derived from `name`")
    camel = field_docs.describe(field_docs.RESOURCE["access_token_scope"], {"repository": "repo", "project": "proj"})
    assert "`repo`/`proj`" in camel and "{" not in camel


def test_settings_texts_name_the_settings_environment() -> None:
    """The texts are written out (no settings import before a plugin handshake): they must stay true."""
    for key, names in (("api_key", settings.ENV_API_KEY), ("api_url", settings.ENV_API_URL),
                       ("org", settings.ENV_ORG), ("bitbucket_api_url", settings.ENV_BITBUCKET_API_URL)):
        assert re.findall(r"`([A-Z_]+)`", field_docs.SETTINGS[key]) == list(names)
    assert settings.DEFAULT_API_URL in field_docs.SETTINGS["api_url"]
    assert settings.DEFAULT_BITBUCKET_API_URL in field_docs.SETTINGS["bitbucket_api_url"]
