"""The native Pulumi provider ``sgbitbucket`` (plugin ``pulumi-resource-sgbitbucket``), for every Pulumi language.

``backend.py`` is its one door into the backend; ``properties.py`` translates Pulumi's wire
properties; ``schema.py`` is the package schema the SDKs and docs come from; ``server.py`` is
the gRPC plugin; ``plugin_archive.py`` the tarball for `pulumi plugin install`. The dynamic resource
(``sg_bitbucket_iac.pulumi.BitbucketConnector``) is unchanged beside it; the two never import each
other and share the state's keys (``..properties``) and what a person is shown (``..messages``).

Nothing is imported here: the plugin starts (and `sg-bitbucket pulumi-plugin` writes its tarball)
without loading the backend.
"""

PACKAGE = "sgbitbucket"
