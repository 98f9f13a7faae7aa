"""Users, tokens, organizations and projects: the rules, over a database session.

Who may do what:

- admins (role ``admin`` with an ``admin``-scoped token) may do everything;
- anyone may read themselves and manage their own tokens;
- an organization's owners manage its members and create its projects;
- a project's maintainers (and its organization's owners) manage the project and its members;
- members see the organizations and projects they belong to, and nothing else exists for them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zslab.errors import Conflict, Forbidden, InvalidInput, NotFound
from zslab.hub.auth import Principal, display_prefix, generate_secret, hash_secret
from zslab.hub.context import Context
from zslab.hub.db.orm import (
    Organization,
    OrgMember,
    Project,
    ProjectMember,
    Token,
    User,
    utcnow,
)
from zslab.hub.pagination import paginate
from zslab.ids import new_id
from zslab.schemas import (
    OrgCreate,
    OrgMemberAdd,
    OrgMemberRead,
    OrgRead,
    Page,
    ProjectCreate,
    ProjectMemberAdd,
    ProjectMemberRead,
    ProjectRead,
    ProjectUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)

# --- lookups -------------------------------------------------------------------------------


def find_user(session: Session, ref: str) -> User:
    """A user by id (``usr_…``) or name."""
    column = User.id if ref.startswith("usr_") else User.name
    user = session.scalars(select(User).where(column == ref)).one_or_none()
    if user is None:
        raise NotFound(
            f"No user {ref!r} on this hub.",
            field="user",
            fix="Check the name with `zslab user list`, or add the user with `zslab user add`.",
        )
    return user


def find_org(session: Session, ref: str) -> Organization:
    column = Organization.id if ref.startswith("org_") else Organization.slug
    org = session.scalars(select(Organization).where(column == ref)).one_or_none()
    if org is None:
        raise NotFound(
            f"No organization {ref!r}.",
            field="org",
            fix="Check the slug with `zslab org list`.",
        )
    return org


def find_project(session: Session, ref: str) -> Project:
    """A project by id (``prj_…``) or by ``org/slug``."""
    if ref.startswith("prj_"):
        project = session.get(Project, ref)
    else:
        org_slug, sep, slug = ref.partition("/")
        if not sep:
            raise InvalidInput(
                f"Project {ref!r} is ambiguous.",
                field="project",
                fix="Name a project by its id (prj_…) or as org/slug, e.g. 'acme/nlp'.",
            )
        project = session.scalars(
            select(Project)
            .join(Organization, Project.org_id == Organization.id)
            .where(Organization.slug == org_slug, Project.slug == slug)
        ).one_or_none()
    if project is None:
        raise NotFound(
            f"No project {ref!r}.", field="project", fix="Check it with `zslab project list`."
        )
    return project


def _org_role(session: Session, org_id: str, user_id: str) -> str | None:
    return session.scalar(
        select(OrgMember.role).where(OrgMember.org_id == org_id, OrgMember.user_id == user_id)
    )


def _project_role(session: Session, project_id: str, user_id: str) -> str | None:
    return session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def _admin_can(principal: Principal) -> bool:
    return principal.is_admin


# --- users ---------------------------------------------------------------------------------


def user_read(user: User) -> UserRead:
    return UserRead.model_validate(user)


def _check_unique_user(session: Session, *, name: str | None, email: str | None) -> None:
    if name and session.scalar(select(User.id).where(User.name == name)):
        raise Conflict(
            f"The user name {name!r} is taken.", field="name", fix="Choose another name."
        )
    if email and session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(
            f"The e-mail {email!r} belongs to another user.",
            field="email",
            fix="Use another address, or update the existing user.",
        )


def create_user(ctx: Context, body: UserCreate) -> UserRead:
    ctx.principal.require_admin("add users")
    _check_unique_user(ctx.session, name=body.name, email=body.email)
    user = User(
        id=new_id("usr"),
        name=body.name,
        display_name=body.display_name or body.name,
        email=body.email,
        role=body.role,
        created_at=utcnow(),
    )
    ctx.session.add(user)
    ctx.session.flush()
    return user_read(user)


def _count_active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", ~User.disabled)
        )
        or 0
    )


def update_user(ctx: Context, ref: str, body: UserUpdate) -> UserRead:
    user = find_user(ctx.session, ref)
    is_self = user.id == ctx.principal.user_id
    privileged = body.role is not None or body.disabled is not None
    if privileged or not is_self:
        ctx.principal.require_admin("change another user's account, role or status")
    if body.email and body.email != user.email:
        _check_unique_user(ctx.session, name=None, email=body.email)
    losing_admin = user.role == "admin" and (
        (body.role is not None and body.role != "admin") or body.disabled
    )
    if losing_admin and _count_active_admins(ctx.session) <= 1:
        raise Conflict(
            f"{user.name!r} is the last active admin; the hub would have no admin left.",
            field="role" if body.role is not None else "disabled",
            fix="Make another user admin first.",
        )
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(user, name, value)
    ctx.session.flush()
    ctx.after_commit(lambda: ctx.hub.identities.forget(user_id=user.id))
    return user_read(user)


def get_user(ctx: Context, ref: str) -> UserRead:
    user = find_user(ctx.session, ref)
    if user.id != ctx.principal.user_id:
        ctx.principal.require_admin("look up other users")
    return user_read(user)


def list_users(ctx: Context, *, limit: int, cursor: str | None) -> Page[UserRead]:
    ctx.principal.require_admin("list users")
    return paginate(
        ctx.session, select(User), User.id, limit=limit, cursor=cursor, to_item=user_read
    )


# --- tokens --------------------------------------------------------------------------------


def token_read(token: Token) -> TokenRead:
    return TokenRead.model_validate(token)


def issue_token(
    session: Session,
    user: User,
    *,
    name: str,
    scopes: list[str],
    days: int | None,
    kind: str = "user",
    secret: str | None = None,
) -> tuple[Token, str]:
    """Add a token for ``user`` and return it with its secret (the only time it is known)."""
    secret = secret or generate_secret()
    now = utcnow()
    token = Token(
        id=new_id("tok"),
        user_id=user.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=display_prefix(secret),
        scopes=sorted(set(scopes)),
        kind=kind,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def create_token(ctx: Context, body: TokenCreate) -> TokenCreated:
    principal = ctx.principal
    if body.user and body.user not in {principal.user_id, principal.user_name}:
        principal.require_admin("create tokens for other users")
        user = find_user(ctx.session, body.user)
    else:
        user = find_user(ctx.session, principal.user_id)
    scopes = set(body.scopes)
    if "admin" in scopes and user.role != "admin":
        raise Forbidden(
            f"Only admins can hold 'admin'-scoped tokens; {user.name!r} is a {user.role}.",
            field="scopes",
            fix="Leave 'admin' out of the scopes.",
        )
    beyond = scopes - principal.scopes
    if beyond:
        raise Forbidden(
            f"A token cannot grant scopes its creator's token lacks: {sorted(beyond)}.",
            field="scopes",
            fix="Create it with a token that holds those scopes, or ask for fewer.",
        )
    days = body.expires_in_days or ctx.settings.token_default_days
    if days > ctx.settings.token_max_days:
        raise InvalidInput(
            f"Tokens on this hub live at most {ctx.settings.token_max_days} days.",
            field="expires_in_days",
            fix=f"Ask for {ctx.settings.token_max_days} days or fewer.",
        )
    token, secret = issue_token(ctx.session, user, name=body.name, scopes=sorted(scopes), days=days)
    return TokenCreated(**token_read(token).model_dump(), secret=secret)


def list_tokens(
    ctx: Context,
    *,
    user_ref: str | None,
    include_revoked: bool,
    limit: int,
    cursor: str | None,
) -> Page[TokenRead]:
    statement = select(Token)
    if user_ref == "*":
        ctx.principal.require_admin("list everyone's tokens")
    elif user_ref and user_ref not in {ctx.principal.user_id, ctx.principal.user_name}:
        ctx.principal.require_admin("list other users' tokens")
        statement = statement.where(Token.user_id == find_user(ctx.session, user_ref).id)
    else:
        statement = statement.where(Token.user_id == ctx.principal.user_id)
    if not include_revoked:
        statement = statement.where(Token.revoked_at.is_(None))
    return paginate(
        ctx.session, statement, Token.id, limit=limit, cursor=cursor, to_item=token_read
    )


def revoke_token(ctx: Context, token_id: str) -> TokenRead:
    token = ctx.session.get(Token, token_id)
    if token is None or (token.user_id != ctx.principal.user_id and not ctx.principal.is_admin):
        raise NotFound(
            f"No token {token_id!r} of yours.",
            field="token",
            fix="List your tokens with `zslab token list`.",
        )
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        ctx.session.flush()
    ctx.after_commit(lambda: ctx.hub.identities.forget(token_id=token_id))
    return token_read(token)


# --- organizations -----------------------------------------------------------------------


def org_read(org: Organization) -> OrgRead:
    return OrgRead.model_validate(org)


def create_org(ctx: Context, body: OrgCreate) -> OrgRead:
    ctx.principal.require_admin("create organizations")
    if ctx.session.scalar(select(Organization.id).where(Organization.slug == body.slug)):
        raise Conflict(
            f"The organization {body.slug!r} exists.", field="slug", fix="Choose another slug."
        )
    org = Organization(
        id=new_id("org"), slug=body.slug, name=body.name or body.slug, created_at=utcnow()
    )
    owner = OrgMember(
        org_id=org.id, user_id=ctx.principal.user_id, role="owner", created_at=utcnow()
    )
    ctx.session.add_all([org, owner])
    return org_read(org)


def _visible_org(ctx: Context, ref: str) -> Organization:
    org = find_org(ctx.session, ref)
    if not _admin_can(ctx.principal) and not _org_role(ctx.session, org.id, ctx.principal.user_id):
        raise NotFound(f"No organization {ref!r}.", field="org", fix="Check `zslab org list`.")
    return org


def get_org(ctx: Context, ref: str) -> OrgRead:
    return org_read(_visible_org(ctx, ref))


def list_orgs(ctx: Context, *, limit: int, cursor: str | None) -> Page[OrgRead]:
    statement = select(Organization)
    if not _admin_can(ctx.principal):
        statement = statement.join(OrgMember, OrgMember.org_id == Organization.id).where(
            OrgMember.user_id == ctx.principal.user_id
        )
    return paginate(
        ctx.session, statement, Organization.id, limit=limit, cursor=cursor, to_item=org_read
    )


def _require_org_owner(ctx: Context, org: Organization, what: str) -> None:
    if _admin_can(ctx.principal):
        return
    if _org_role(ctx.session, org.id, ctx.principal.user_id) != "owner":
        raise Forbidden(
            f"Only owners of {org.slug!r} (or admins) can {what}.",
            fix=f"Ask an owner of {org.slug!r}.",
        )


def _member_read(model: Any, member: Any, user: User) -> Any:
    return model(
        user_id=user.id, user_name=user.name, role=member.role, created_at=member.created_at
    )


def add_org_member(ctx: Context, ref: str, body: OrgMemberAdd) -> OrgMemberRead:
    org = _visible_org(ctx, ref)
    _require_org_owner(ctx, org, "add members")
    user = find_user(ctx.session, body.user)
    member = ctx.session.get(OrgMember, (org.id, user.id))
    if member is None:
        member = OrgMember(org_id=org.id, user_id=user.id, role=body.role, created_at=utcnow())
        ctx.session.add(member)
    else:
        member.role = body.role
    ctx.session.flush()
    return _member_read(OrgMemberRead, member, user)


def remove_org_member(ctx: Context, ref: str, user_ref: str) -> str:
    """Remove a member; returns the user's id."""
    org = _visible_org(ctx, ref)
    _require_org_owner(ctx, org, "remove members")
    user = find_user(ctx.session, user_ref)
    member = ctx.session.get(OrgMember, (org.id, user.id))
    if member is None:
        raise NotFound(f"{user.name!r} is not a member of {org.slug!r}.", field="user")
    if member.role == "owner":
        owners = ctx.session.scalar(
            select(func.count()).where(OrgMember.org_id == org.id, OrgMember.role == "owner")
        )
        if (owners or 0) <= 1:
            raise Conflict(
                f"{user.name!r} is the last owner of {org.slug!r}.",
                field="user",
                fix="Make another member an owner first.",
            )
    ctx.session.delete(member)
    ctx.session.flush()
    return user.id


def list_org_members(
    ctx: Context, ref: str, *, limit: int, cursor: str | None
) -> Page[OrgMemberRead]:
    org = _visible_org(ctx, ref)
    statement = (
        select(OrgMember, User)
        .join(User, User.id == OrgMember.user_id)
        .where(OrgMember.org_id == org.id)
    )
    return paginate(
        ctx.session,
        statement,
        OrgMember.user_id,
        limit=limit,
        cursor=cursor,
        to_item=lambda row: _member_read(OrgMemberRead, row[0], row[1]),
    )


# --- projects ------------------------------------------------------------------------------


def project_read(project: Project, org: Organization) -> ProjectRead:
    return ProjectRead(
        id=project.id,
        org_id=org.id,
        org_slug=org.slug,
        slug=project.slug,
        name=project.name,
        description=project.description,
        created_at=project.created_at,
    )


def create_project(ctx: Context, body: ProjectCreate) -> ProjectRead:
    org = _visible_org(ctx, body.org)
    _require_org_owner(ctx, org, "create projects")
    taken = ctx.session.scalar(
        select(Project.id).where(Project.org_id == org.id, Project.slug == body.slug)
    )
    if taken:
        raise Conflict(
            f"{org.slug!r} already has a project {body.slug!r}.",
            field="slug",
            fix="Choose another slug.",
        )
    project = Project(
        id=new_id("prj"),
        org_id=org.id,
        slug=body.slug,
        name=body.name or body.slug,
        description=body.description,
        created_at=utcnow(),
    )
    creator = ProjectMember(
        project_id=project.id, user_id=ctx.principal.user_id, role="maintainer", created_at=utcnow()
    )
    ctx.session.add_all([project, creator])
    return project_read(project, org)


def _visible_project(ctx: Context, ref: str) -> tuple[Project, Organization]:
    project = find_project(ctx.session, ref)
    org = ctx.session.get_one(Organization, project.org_id)
    if _admin_can(ctx.principal):
        return project, org
    uid = ctx.principal.user_id
    if (
        _project_role(ctx.session, project.id, uid)
        or _org_role(ctx.session, org.id, uid) == "owner"
    ):
        return project, org
    raise NotFound(f"No project {ref!r}.", field="project", fix="Check `zslab project list`.")


def _require_maintainer(ctx: Context, project: Project, org: Organization, what: str) -> None:
    uid = ctx.principal.user_id
    if _admin_can(ctx.principal) or _org_role(ctx.session, org.id, uid) == "owner":
        return
    if _project_role(ctx.session, project.id, uid) != "maintainer":
        raise Forbidden(
            f"Only maintainers of {org.slug}/{project.slug} can {what}.",
            fix="Ask a maintainer of the project or an owner of its organization.",
        )


def get_project(ctx: Context, ref: str) -> ProjectRead:
    return project_read(*_visible_project(ctx, ref))


def update_project(ctx: Context, ref: str, body: ProjectUpdate) -> ProjectRead:
    project, org = _visible_project(ctx, ref)
    _require_maintainer(ctx, project, org, "change it")
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(project, name, value)
    ctx.session.flush()
    return project_read(project, org)


def list_projects(
    ctx: Context, *, org_ref: str | None, slug: str | None, limit: int, cursor: str | None
) -> Page[ProjectRead]:
    statement = select(Project, Organization).join(Organization, Organization.id == Project.org_id)
    if org_ref:
        statement = statement.where(Project.org_id == find_org(ctx.session, org_ref).id)
    if slug:
        statement = statement.where(Project.slug == slug)
    if not _admin_can(ctx.principal):
        uid = ctx.principal.user_id
        member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == uid)
        owner_of = select(OrgMember.org_id).where(
            OrgMember.user_id == uid, OrgMember.role == "owner"
        )
        statement = statement.where(or_(Project.id.in_(member_of), Project.org_id.in_(owner_of)))
    return paginate(
        ctx.session,
        statement,
        Project.id,
        limit=limit,
        cursor=cursor,
        to_item=lambda row: project_read(row[0], row[1]),
    )


def add_project_member(ctx: Context, ref: str, body: ProjectMemberAdd) -> ProjectMemberRead:
    project, org = _visible_project(ctx, ref)
    _require_maintainer(ctx, project, org, "add members")
    user = find_user(ctx.session, body.user)
    member = ctx.session.get(ProjectMember, (project.id, user.id))
    if member is None:
        member = ProjectMember(
            project_id=project.id, user_id=user.id, role=body.role, created_at=utcnow()
        )
        ctx.session.add(member)
    else:
        member.role = body.role
    ctx.session.flush()
    return _member_read(ProjectMemberRead, member, user)


def remove_project_member(ctx: Context, ref: str, user_ref: str) -> str:
    """Remove a member; returns the user's id."""
    project, org = _visible_project(ctx, ref)
    _require_maintainer(ctx, project, org, "remove members")
    user = find_user(ctx.session, user_ref)
    member = ctx.session.get(ProjectMember, (project.id, user.id))
    if member is None:
        raise NotFound(f"{user.name!r} is not a member of {org.slug}/{project.slug}.")
    ctx.session.delete(member)
    ctx.session.flush()
    return user.id


def list_project_members(
    ctx: Context, ref: str, *, limit: int, cursor: str | None
) -> Page[ProjectMemberRead]:
    project, _ = _visible_project(ctx, ref)
    statement = (
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id)
    )
    return paginate(
        ctx.session,
        statement,
        ProjectMember.user_id,
        limit=limit,
        cursor=cursor,
        to_item=lambda row: _member_read(ProjectMemberRead, row[0], row[1]),
    )
