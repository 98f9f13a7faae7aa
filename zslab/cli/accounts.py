"""``zslab token | user | org | project``: who may use the hub, and in which groups.

Tokens are shown once, at creation; users have a role (admin, reviewer, member); organizations
own projects, and both have members. Every verb is one SDK call (``lab.tokens``, ``lab.users``,
``lab.orgs``, ``lab.projects``) printed as a table or ``--json``.
"""

from __future__ import annotations

import argparse

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect, csv_list
from zslab.cli._output import cell, print_json, show
from zslab.errors import ZslabError

__all__ = [
    "MEMBER_COLUMNS",
    "ORG_COLUMNS",
    "PROJECT_COLUMNS",
    "TOKEN_COLUMNS",
    "USER_COLUMNS",
    "cmd_org_add",
    "cmd_org_list",
    "cmd_org_member_add",
    "cmd_org_member_remove",
    "cmd_org_members",
    "cmd_org_show",
    "cmd_project_add",
    "cmd_project_list",
    "cmd_project_member_add",
    "cmd_project_member_remove",
    "cmd_project_members",
    "cmd_project_show",
    "cmd_token_create",
    "cmd_token_list",
    "cmd_token_revoke",
    "cmd_user_add",
    "cmd_user_list",
    "cmd_user_set",
    "cmd_user_show",
    "register",
]

USER_COLUMNS = ("id", "name", "role", "email", "disabled", "created_at")
TOKEN_COLUMNS = ("id", "name", "prefix", "scopes", "kind", "expires_at", "revoked_at")
ORG_COLUMNS = ("id", "slug", "name", "created_at")
PROJECT_COLUMNS = ("id", "org_slug", "slug", "name", "created_at")
MEMBER_COLUMNS = ("user_name", "role", "user_id", "created_at")


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``token``, ``user``, ``org`` and ``project`` nouns."""
    both = [parents.client, parents.listing]

    token = add_noun(nouns, "token", "API tokens")
    p = add_verb(token, "create", cmd_token_create, "create a token (shown once)", both)
    p.add_argument("--name", default="api")
    p.add_argument("--scopes", default="read,write", help="comma list of read,write,admin")
    p.add_argument("--expires-days", type=int, default=None)
    p.add_argument("--user", help="for another user (admins)")
    p = add_verb(token, "list", cmd_token_list, "list tokens", both)
    p.add_argument("--user", help="name or id; * for everyone's (admins)")
    p.add_argument("--all", action="store_true", help="include revoked tokens")
    p = add_verb(token, "revoke", cmd_token_revoke, "revoke a token", both)
    p.add_argument("token_id")

    user = add_noun(nouns, "user", "users")
    p = add_verb(user, "add", cmd_user_add, "add a user (admins)", both)
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--role", default="member", choices=["admin", "reviewer", "member"])
    p.add_argument("--display-name", default="")
    add_verb(user, "list", cmd_user_list, "list users (admins)", both)
    p = add_verb(user, "show", cmd_user_show, "show a user", both)
    p.add_argument("name")
    p = add_verb(user, "set", cmd_user_set, "change a user", both)
    p.add_argument("name")
    p.add_argument("--role", choices=["admin", "reviewer", "member"])
    p.add_argument("--email")
    p.add_argument("--display-name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--disable", dest="disabled", action="store_true", default=None)
    group.add_argument("--enable", dest="disabled", action="store_false")

    org = add_noun(nouns, "org", "organizations")
    p = add_verb(org, "add", cmd_org_add, "add an organization (admins)", both)
    p.add_argument("slug")
    p.add_argument("--name", default="")
    add_verb(org, "list", cmd_org_list, "list organizations", both)
    p = add_verb(org, "show", cmd_org_show, "show an organization", both)
    p.add_argument("org")
    p = add_verb(org, "members", cmd_org_members, "list members", both)
    p.add_argument("org")
    p = add_verb(org, "member-add", cmd_org_member_add, "add a member / set a role", both)
    p.add_argument("org")
    p.add_argument("user")
    p.add_argument("--role", default="member", choices=["owner", "member"])
    p = add_verb(org, "member-remove", cmd_org_member_remove, "remove a member", [parents.client])
    p.add_argument("org")
    p.add_argument("user")

    project = add_noun(nouns, "project", "projects")
    p = add_verb(project, "add", cmd_project_add, "add a project", both)
    p.add_argument("project", help="ORG/SLUG, or SLUG with --org")
    p.add_argument("--org")
    p.add_argument("--name", default="")
    p.add_argument("--description", default="")
    p = add_verb(project, "list", cmd_project_list, "list projects", both)
    p.add_argument("--org")
    p = add_verb(project, "show", cmd_project_show, "show a project", both)
    p.add_argument("project", help="id or ORG/SLUG")
    p = add_verb(project, "members", cmd_project_members, "list members", both)
    p.add_argument("project")
    p = add_verb(project, "member-add", cmd_project_member_add, "add a member", both)
    p.add_argument("project")
    p.add_argument("user")
    p.add_argument("--role", default="member", choices=["maintainer", "member"])
    p = add_verb(
        project, "member-remove", cmd_project_member_remove, "remove a member", [parents.client]
    )
    p.add_argument("project")
    p.add_argument("user")


# --- tokens ------------------------------------------------------------------------------------


def cmd_token_create(args: argparse.Namespace) -> int:
    """Create a token and print its secret, the only time it is shown."""
    with connect(args) as lab:
        token = lab.tokens.create(
            args.name,
            scopes=csv_list(args.scopes),
            expires_in_days=args.expires_days,
            user=args.user,
        )
    if args.json:
        print_json(token)
    else:
        print(
            f"Created {token.id} ({token.name}, scopes {','.join(token.scopes)}, expires "
            f"{cell(token.expires_at)}). The token, shown only now:"
        )
        print(f"  {token.secret}")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    """Your tokens (another user's, or everyone's with ``--user '*'``, for admins)."""
    with connect(args) as lab:
        tokens = lab.tokens.list(user=args.user, include_revoked=args.all)
    return show(args, tokens, TOKEN_COLUMNS)


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revoke a token; it stops working at once."""
    with connect(args) as lab:
        token = lab.tokens.revoke(args.token_id)
    return show(args, token, TOKEN_COLUMNS)


# --- users -------------------------------------------------------------------------------------


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user (admins)."""
    with connect(args) as lab:
        user = lab.users.add(
            args.name, email=args.email, role=args.role, display_name=args.display_name
        )
    return show(args, user, USER_COLUMNS)


def cmd_user_list(args: argparse.Namespace) -> int:
    """Every user (admins)."""
    with connect(args) as lab:
        return show(args, lab.users.list(), USER_COLUMNS)


def cmd_user_show(args: argparse.Namespace) -> int:
    """One user by name or id."""
    with connect(args) as lab:
        return show(args, lab.users.get(args.name), USER_COLUMNS)


def cmd_user_set(args: argparse.Namespace) -> int:
    """Change only the fields given (role, email, display name, disabled)."""
    fields = {
        k: v
        for k, v in {
            "role": args.role,
            "email": args.email,
            "display_name": args.display_name,
            "disabled": args.disabled,
        }.items()
        if v is not None
    }
    with connect(args) as lab:
        return show(args, lab.users.update(args.name, **fields), USER_COLUMNS)


# --- organizations -----------------------------------------------------------------------------


def cmd_org_add(args: argparse.Namespace) -> int:
    """Add an organization (admins)."""
    with connect(args) as lab:
        return show(args, lab.orgs.add(args.slug, name=args.name), ORG_COLUMNS)


def cmd_org_list(args: argparse.Namespace) -> int:
    """The organizations you can see."""
    with connect(args) as lab:
        return show(args, lab.orgs.list(), ORG_COLUMNS)


def cmd_org_show(args: argparse.Namespace) -> int:
    """One organization by slug or id."""
    with connect(args) as lab:
        return show(args, lab.orgs.get(args.org), ORG_COLUMNS)


def cmd_org_members(args: argparse.Namespace) -> int:
    """An organization's members and their roles."""
    with connect(args) as lab:
        return show(args, lab.orgs.members(args.org), MEMBER_COLUMNS)


def cmd_org_member_add(args: argparse.Namespace) -> int:
    """Add a member to an organization, or change a member's role."""
    with connect(args) as lab:
        return show(args, lab.orgs.add_member(args.org, args.user, role=args.role), MEMBER_COLUMNS)


def cmd_org_member_remove(args: argparse.Namespace) -> int:
    """Remove a member from an organization."""
    with connect(args) as lab:
        lab.orgs.remove_member(args.org, args.user)
    print(f"Removed {args.user} from {args.org}.")
    return 0


# --- projects ----------------------------------------------------------------------------------


def cmd_project_add(args: argparse.Namespace) -> int:
    """Add a project named ``ORG/SLUG`` (or ``SLUG`` with ``--org``)."""
    org, sep, slug = args.project.partition("/")
    if not sep:
        org, slug = args.org, args.project
    if not org:
        raise ZslabError(
            f"Which organization should own {args.project!r}?",
            field="org",
            fix="Name it as ORG/SLUG (e.g. `zslab project add acme/nlp`) or pass --org.",
        )
    with connect(args) as lab:
        project = lab.projects.add(org, slug, name=args.name, description=args.description)
    return show(args, project, PROJECT_COLUMNS)


def cmd_project_list(args: argparse.Namespace) -> int:
    """The projects you can see (of one organization with ``--org``)."""
    with connect(args) as lab:
        return show(args, lab.projects.list(org=args.org), PROJECT_COLUMNS)


def cmd_project_show(args: argparse.Namespace) -> int:
    """One project by id or ``ORG/SLUG``."""
    with connect(args) as lab:
        return show(args, lab.projects.get(args.project), PROJECT_COLUMNS)


def cmd_project_members(args: argparse.Namespace) -> int:
    """A project's members and their roles."""
    with connect(args) as lab:
        return show(args, lab.projects.members(args.project), MEMBER_COLUMNS)


def cmd_project_member_add(args: argparse.Namespace) -> int:
    """Add a member to a project, or change a member's role."""
    with connect(args) as lab:
        member = lab.projects.add_member(args.project, args.user, role=args.role)
    return show(args, member, MEMBER_COLUMNS)


def cmd_project_member_remove(args: argparse.Namespace) -> int:
    """Remove a member from a project."""
    with connect(args) as lab:
        lab.projects.remove_member(args.project, args.user)
    print(f"Removed {args.user} from {args.project}.")
    return 0
