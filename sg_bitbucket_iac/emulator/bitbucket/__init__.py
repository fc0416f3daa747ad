"""Emulated Bitbucket Cloud REST API 2.0: just enough of it for credential preflight, faithfully.

What is modelled (each fact with its public source on docs/evidence.md#the-emulated-bitbucket):

* workspaces with projects and repositories (and optional pull requests);
* credentials of three kinds, each tied to an emulated account or, for access tokens, to the
  repository / project / workspace it was created for;
* authentication exactly as Bitbucket documents it: API tokens only as Basic ``email:token``,
  access tokens only as Bearer, app passwords only as Basic ``username:password`` and refused
  during the brownout windows and after the removal;
* scope enforcement per endpoint with the 403 privilege-scope body and the ``x-oauth-scopes`` /
  ``x-accepted-oauth-scopes`` / ``x-credential-type`` headers on every authenticated answer;
* pagination and the 410 answers of the endpoints CHANGE-2770 removed;
* the shapes of Atlassian's published spec (the subset in ``tests/bitbucket-openapi-subset.json``):
  every object with the ``links`` and nested ``type``s its schema defines, the query parameters
  each operation lists, ``Content-Type: application/json; charset=utf-8``. The tests validate every
  answer against that subset and run atlassian-python-api against this package.

Where no source settles a detail, the choice is marked **[emulator choice]** in the code with its
reason, so that a later live capture can correct it in one place. Fault injection (429 text/plain
without Retry-After, 5xx, latency) is the server's business (``emulator/faults.py``); this package
never produces a 429.

Modules, one concept each:

* ``objects.py``: workspaces, projects, repositories, pull requests, accounts and their spec shapes;
* ``credentials.py``: the three credential kinds, what each may see, and why Bitbucket refuses one;
* ``scopes.py``: scope names per credential kind and the classic implication rules;
* ``state.py``: everything held, the admin API's seeding rules, persistence;
* ``access.py``: authentication, the mechanism and scope checks, the credential headers;
* ``answers.py``: error texts and bodies, JSON answers, pagination;
* ``api.py``: the routes and their endpoints.
"""

from .answers import CHANGE_2770_BODY, JSON_CONTENT_TYPE, LACKS_SCOPES, NOT_ACCESSIBLE, TOKEN_INVALID
from .api import BitbucketApi
from .credentials import Credential, secret_fingerprint
from .scopes import classic_closure
from .state import BitbucketState

__all__ = [
    "CHANGE_2770_BODY",
    "JSON_CONTENT_TYPE",
    "LACKS_SCOPES",
    "NOT_ACCESSIBLE",
    "TOKEN_INVALID",
    "BitbucketApi",
    "BitbucketState",
    "Credential",
    "classic_closure",
    "secret_fingerprint",
]
