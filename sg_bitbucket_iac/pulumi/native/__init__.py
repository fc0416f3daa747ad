"""The native Pulumi provider ``sgbitbucket`` (plugin ``pulumi-resource-sgbitbucket``), for every Pulumi language.

``backend.py`` is its one door into the backend; ``properties.py`` translates Pulumi's wire
properties; ``schema.py`` is the package schema the SDKs and docs come from; ``server.py`` is
the gRPC plugin. The dynamic resource (``sg_bitbucket_iac.pulumi.BitbucketConnector``) is
unchanged beside it.
"""
