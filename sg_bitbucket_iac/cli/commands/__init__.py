"""One module per `sg-bitbucket` command (or pair of commands sharing one flow, like plan/apply).

Each exposes ``run(ctx: Context) -> int``. They are imported only when their command runs, so
``sg-bitbucket --help`` never pays for rich, yaml, boto3 or the engine.
"""
