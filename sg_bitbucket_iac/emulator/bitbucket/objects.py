"""The emulated Bitbucket's things: workspaces with projects, repositories and pull requests, and accounts.

Each ``to_api`` gives the object in the shape of Atlassian's published spec (the subset the tests
keep in ``tests/bitbucket-openapi-subset.json``): every object carries the ``links`` its schema
defines and nested objects their ``type``, because real clients navigate by them
(atlassian-python-api builds a repository's pull-request URL from ``links.self``). API links point
at this emulator (``api`` is ``http://<Host>/2.0``), web links at bitbucket.org.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

WEB = "https://bitbucket.org"
# [emulator choice] no creation dates are modelled; one fixed instant in the spec's date-time form.
CREATED_ON = "2025-01-06T09:00:00.000000+00:00"


def bitbucket_uuid(*names: str) -> str:
    """Bitbucket writes UUIDs in braces; derived from names so state files stay reproducible."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "bitbucket-emulator/" + "/".join(names))) + "}"


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def _avatar(kind: str, *names: str) -> dict[str, str]:
    return _link(f"{WEB}/{kind}/{'/'.join(names)}/avatar/")


@dataclass
class Project:
    key: str
    name: str
    uuid: str

    def links(self, workspace: Workspace, api: str) -> dict[str, Any]:
        return {
            "self": _link(f"{api}/workspaces/{workspace.slug}/projects/{self.key}"),
            "html": _link(f"{WEB}/{workspace.slug}/workspace/projects/{self.key}"),
            "avatar": _avatar("account/user", workspace.slug, "projects", self.key),
        }

    def reference(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """The project as nested in a repository."""
        return {"type": "project", "key": self.key, "name": self.name, "uuid": self.uuid,
                "links": self.links(workspace, api)}

    def to_api(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """Spec `project`: its schema lists `html` and `avatar` links; `self` is what clients fetch it by."""
        return {
            **self.reference(workspace, api),
            "description": "",
            "is_private": True,
            "has_publicly_visible_repos": False,
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "owner": workspace.owner(api),
            "workspace": workspace.reference(api),
        }


@dataclass
class Repository:
    slug: str
    name: str
    uuid: str
    project_key: str
    pullrequests: list[str] = field(default_factory=list)  # titles of open pull requests

    def reference(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """The repository as nested in other objects (a pull request's source/destination): typed, linked."""
        return {
            "type": "repository",
            "name": self.name,
            "full_name": f"{workspace.slug}/{self.slug}",
            "uuid": self.uuid,
            "links": {
                "self": _link(f"{api}/repositories/{workspace.slug}/{self.slug}"),
                "html": _link(f"{WEB}/{workspace.slug}/{self.slug}"),
                "avatar": _link(f"{WEB}/{workspace.slug}/{self.slug}/avatar/"),
            },
        }

    def to_api(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """Spec `repository`, with every navigation link its schema names."""
        project = workspace.projects[self.project_key]
        base = f"{api}/repositories/{workspace.slug}/{self.slug}"
        reference = self.reference(workspace, api)
        return {
            **reference,
            "slug": self.slug,
            "description": "",
            "is_private": True,
            "scm": "git",
            "fork_policy": "no_public_forks",
            "has_issues": False,
            "has_wiki": False,
            "language": "",
            "size": 0,
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "mainbranch": {"type": "branch", "name": "main"},
            "owner": workspace.owner(api),
            "project": project.reference(workspace, api),
            "workspace": workspace.reference(api),
            "links": {
                **reference["links"],
                "pullrequests": _link(f"{base}/pullrequests"),
                "commits": _link(f"{base}/commits"),
                "forks": _link(f"{base}/forks"),
                "watchers": _link(f"{base}/watchers"),
                "downloads": _link(f"{base}/downloads"),
                "hooks": _link(f"{base}/hooks"),
                # [emulator choice] only the https clone link: the real ssh one (git@bitbucket.org:ws/r.git)
                # is not a URI, which the spec's `format: uri` asks for.
                "clone": [{"name": "https", "href": f"{WEB}/{workspace.slug}/{self.slug}.git"}],
            },
        }

    def pull_request(self, workspace: Workspace, number: int, api: str) -> dict[str, Any]:
        """Spec `pullrequest`: source/destination carry a typed `repository`, a branch and a commit."""
        base = f"{api}/repositories/{workspace.slug}/{self.slug}/pullrequests/{number}"
        digest = hashlib.sha1(f"{workspace.slug}/{self.slug}#{number}".encode()).hexdigest()  # a stable fake hash
        repository = self.reference(workspace, api)
        return {
            "type": "pullrequest",
            "id": number,
            "title": self.pullrequests[number - 1],
            "state": "OPEN",
            "summary": {"type": "rendered", "raw": "", "markup": "markdown", "html": ""},
            "author": workspace.owner(api),
            "source": {"branch": {"name": f"feature/pr-{number}"}, "commit": {"type": "commit", "hash": digest[:12]},
                       "repository": repository},
            "destination": {"branch": {"name": "main"}, "commit": {"type": "commit", "hash": digest[-12:]},
                            "repository": repository},
            "close_source_branch": False,
            "comment_count": 0,
            "task_count": 0,
            "reason": "",
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "links": {
                "self": _link(base),
                "html": _link(f"{WEB}/{workspace.slug}/{self.slug}/pull-requests/{number}"),
                **{name: _link(f"{base}/{name}") for name in ("commits", "approve", "diff", "comments", "activity",
                                                              "merge", "decline")},
            },
        }


@dataclass
class Workspace:
    slug: str
    name: str
    uuid: str
    projects: dict[str, Project] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # account usernames or emails

    def sorted_repositories(self) -> list[Repository]:
        return sorted(self.repositories.values(), key=lambda repository: repository.slug)

    def sorted_projects(self) -> list[Project]:
        return sorted(self.projects.values(), key=lambda project: project.key)

    def reference(self, api: str) -> dict[str, Any]:
        """`workspace_base` (spec): what `/user/workspaces` items nest. Its links may only be avatar and self."""
        return {
            "type": "workspace_base",
            "slug": self.slug,
            "uuid": self.uuid,
            "links": {"avatar": _avatar("workspaces", self.slug), "self": _link(f"{api}/workspaces/{self.slug}")},
        }

    def to_api(self, api: str) -> dict[str, Any]:
        """Spec `workspace` (GET /workspaces/{workspace}), with the eight links its schema allows."""
        return {
            "type": "workspace",
            "slug": self.slug,
            "name": self.name,
            "uuid": self.uuid,
            "is_private": True,
            "is_privacy_enforced": False,
            "forking_mode": "allow_forks",
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "links": {
                "avatar": _avatar("workspaces", self.slug),
                "html": _link(f"{WEB}/{self.slug}/"),
                "members": _link(f"{api}/workspaces/{self.slug}/members"),
                "owners": _link(f"{api}/workspaces/{self.slug}/members?q=permission%3D%22owner%22"),
                "projects": _link(f"{api}/workspaces/{self.slug}/projects"),
                "repositories": _link(f"{api}/repositories/{self.slug}"),
                "self": _link(f"{api}/workspaces/{self.slug}"),
                "snippets": _link(f"{api}/snippets/{self.slug}"),
            },
        }

    def owner(self, api: str) -> dict[str, Any]:
        """The account that owns the workspace's repositories (spec `account`; a team)."""
        return {
            "type": "team",
            "username": self.slug,
            "display_name": self.name,
            "uuid": self.uuid,
            "links": {
                "self": _link(f"{api}/workspaces/{self.slug}"),
                "html": _link(f"{WEB}/{self.slug}/"),
                "avatar": _avatar("workspaces", self.slug),
            },
        }

    def membership(self, account: Account, api: str, permission: str) -> dict[str, Any]:
        """Spec `workspace_membership`: the answer of ``/user/workspaces/{workspace}/permission``."""
        return {
            "type": "workspace_membership",
            "permission": permission,
            "user": account.to_api(api),
            "workspace": self.to_api(api),
            "links": {"self": _link(f"{api}/workspaces/{self.slug}/members/{account.uuid}")},
        }

    def summary(self) -> dict[str, Any]:
        """What the admin API answers for a workspace."""
        return {
            "slug": self.slug,
            "name": self.name,
            "uuid": self.uuid,
            "projects": sorted(self.projects),
            "repositories": [{"slug": r.slug, "project": r.project_key} for r in self.sorted_repositories()],
            "members": list(self.members),
        }


@dataclass
class Account:
    """The user a credential acts as: API tokens and app passwords are user-based, access tokens not."""

    username: str
    display_name: str
    email: str
    uuid: str

    def to_api(self, api: str) -> dict[str, Any]:
        """Spec `user` with its `user_links`."""
        return {
            "type": "user",
            "username": self.username,
            "nickname": self.username,
            "display_name": self.display_name,
            "uuid": self.uuid,
            "account_id": "557058:" + self.uuid.strip("{}"),
            "account_status": "active",
            "is_staff": False,
            "created_on": CREATED_ON,
            "links": {
                "self": _link(f"{api}/users/{self.uuid}"),
                "html": _link(f"{WEB}/{self.uuid}/"),
                "avatar": _link(f"{WEB}/account/{self.username}/avatar/"),
                "repositories": _link(f"{api}/repositories/{self.uuid}"),
            },
        }
