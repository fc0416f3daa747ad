"""The CLI's exit codes, in a module of their own so that the parser can use them without importing more."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode with changes, drift present, audit finds work to do
EXIT_INCONCLUSIVE = 3  # a check could not ask Bitbucket and none failed (preflight, validate)
