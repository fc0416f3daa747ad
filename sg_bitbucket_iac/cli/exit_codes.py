"""The CLI's exit codes, in a module of their own so that the parser can use them without importing more."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode with changes, drift present, audit finds work to do
EXIT_INCONCLUSIVE = 3  # a check could not ask Bitbucket and none failed (preflight, validate)


def exit_for_checks(*, failed: bool, inconclusive: bool) -> int:
    """`preflight` and `validate`: 1 when a check failed, else 3 when one could not ask Bitbucket, else 0."""
    if failed:
        return EXIT_ERROR
    return EXIT_INCONCLUSIVE if inconclusive else EXIT_OK
