"""The case library in the hub: who may see, edit and review a case, and storing what
:mod:`zslab.cases.model` decides (publishing from runs, the review workflow, reproductions,
leaderboards).

Who may do what:

- **see**: admins; the owner and members of the case's project; anyone signed in when the
  case is ``public`` and has a published version; members of its organization when ``org``
  and published; reviewers of its organization while a version is in review.
  A case one may not see answers 404, as if it did not exist.
- **edit** (drafts, new versions, submit, withdraw, archive): admins, the owner, members of
  the case's project, owners of its organization.
- **review** (approve, request changes): admins, and hub reviewers who belong to the case's
  organization, and owners of that organization; never the version's author or the case's
  owner.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from zslab.cases import model as domain
from zslab.errors import Conflict, Forbidden, InvalidInput, NotFound
from zslab.hub.auth import Principal
from zslab.hub.context import Context
from zslab.hub.db.orm import (
    ArtifactRow,
    CaseMetricRow,
    CaseReproductionRow,
    CaseReviewRow,
    CaseRow,
    CaseVersionRow,
    LeaseRow,
    OrgMember,
    Project,
    RunRow,
    User,
    utcnow,
)
from zslab.hub.slices import _visible as member_projects
from zslab.hub.slices import member_project
from zslab.ids import new_id
from zslab.schemas import (
    BoardEntryRead,
    CaseCreate,
    CaseRead,
    CaseReviewRead,
    CaseUpdate,
    CaseVersionCreate,
    CaseVersionRead,
    LeaderboardRead,
    ReproductionCreate,
    ReproductionRead,
    ReviewCreate,
)

__all__ = [
    "add_version",
    "case_read",
    "find_case",
    "leaderboards",
    "model_card",
    "publish",
    "reproduce",
    "review",
    "update_case",
    "version_read",
    "visibility_clause",
]

_REVIEWER_ACTIONS = {"approve", "request_changes"}
_RESERVED_SLUGS = frozenset({"leaderboards", "sectors", "search"})


# --- who may do what -------------------------------------------------------------------------


def _orgs_of(session: Session, user_id: str) -> dict[str, str]:
    rows = session.execute(
        select(OrgMember.org_id, OrgMember.role).where(OrgMember.user_id == user_id)
    )
    return {org_id: role for org_id, role in rows}


def visibility_clause(session: Session, principal: Principal) -> ColumnElement[bool] | None:
    """A condition on :class:`CaseRow` selecting the cases ``principal`` may see (None: all)."""
    if principal.is_admin:
        return None
    orgs = _orgs_of(session, principal.user_id)
    projects = member_projects(session, principal.user_id)
    reviewing = [o for o, role in orgs.items() if role == "owner" or principal.role == "reviewer"]
    published = CaseRow.published_version.is_not(None)
    return or_(
        CaseRow.owner_id == principal.user_id,
        CaseRow.project_id.in_(projects) if projects else false(),
        and_(published, CaseRow.visibility == "public"),
        and_(published, CaseRow.visibility == "org", CaseRow.org_id.in_(orgs)) if orgs else false(),
        and_(CaseRow.status == "in_review", CaseRow.org_id.in_(reviewing))
        if reviewing
        else false(),
    )


def may_see(session: Session, principal: Principal, case: CaseRow) -> bool:
    clause = visibility_clause(session, principal)
    if clause is None:
        return True
    return session.scalar(select(CaseRow.id).where(CaseRow.id == case.id, clause)) is not None


def may_edit(session: Session, principal: Principal, case: CaseRow) -> bool:
    if principal.is_admin or case.owner_id == principal.user_id:
        return True
    if case.project_id in member_projects(session, principal.user_id):
        return True
    return _orgs_of(session, principal.user_id).get(case.org_id) == "owner"


def _review_refusal(
    session: Session, principal: Principal, case: CaseRow, version: CaseVersionRow
) -> str | None:
    """Why ``principal`` may not approve or send back ``version`` (None: they may)."""
    if principal.user_id in (version.created_by, case.owner_id):
        return "you wrote this case; a reviewer cannot approve their own case"
    if principal.is_admin:
        return None
    role = _orgs_of(session, principal.user_id).get(case.org_id)
    if role is None:
        return "reviewers must belong to the case's organization"
    if role != "owner" and principal.role != "reviewer":
        return f"you are a {principal.role}, not a reviewer"
    return None


def find_case(session: Session, principal: Principal, slug: str, *, edit: bool = False) -> CaseRow:
    """The case named ``slug`` (or its id): 404 when absent or not visible to ``principal``,
    403 when ``edit`` and they may only see it."""
    row = session.scalar(select(CaseRow).where(or_(CaseRow.slug == slug, CaseRow.id == slug)))
    if row is None or not may_see(session, principal, row):
        raise NotFound(
            f"No case {slug!r}.",
            field="case",
            fix="Search the library with GET /api/v1/cases?q=… or `zslab cases search`.",
        )
    if edit and not may_edit(session, principal, row):
        raise Forbidden(
            f"Only the owner of case {row.slug!r} and members of its project may change it.",
            field="case",
            fix="Ask the case's owner to make the change, or to add you to the project.",
        )
    return row


def _version(session: Session, case: CaseRow, number: int) -> CaseVersionRow:
    row = session.scalar(
        select(CaseVersionRow).where(
            CaseVersionRow.case_id == case.id, CaseVersionRow.number == number
        )
    )
    if row is None:
        raise NotFound(
            f"Case {case.slug!r} has no version {number}; it has 1 to {case.current_version}.",
            field="version",
            fix=f"GET /api/v1/cases/{case.slug} lists its versions.",
        )
    return row


# --- reading ---------------------------------------------------------------------------------


def case_read(
    session: Session, row: CaseRow, *, principal: Principal | None = None, full: bool = False
) -> CaseRead:
    read = CaseRead.model_validate(row)
    if full:
        versions = session.scalars(
            select(CaseVersionRow)
            .where(CaseVersionRow.case_id == row.id)
            .order_by(CaseVersionRow.number)
        )
        editor = principal is not None and may_edit(session, principal, row)
        read.versions = [
            version_read(session, v, slug=row.slug)
            for v in versions
            if editor or v.published_at is not None
        ]
        read.reproductions = reproductions_of(session, row)
    return read


def version_read(
    session: Session, row: CaseVersionRow, *, slug: str, reviews: bool = False
) -> CaseVersionRead:
    read = CaseVersionRead.model_validate(row)
    read.slug = slug
    if reviews:
        steps = session.execute(
            select(CaseReviewRow, User.name)
            .join(User, User.id == CaseReviewRow.actor_id)
            .where(CaseReviewRow.version_id == row.id)
            .order_by(CaseReviewRow.id)
        )
        read.reviews = [
            CaseReviewRead.model_validate(step).model_copy(update={"actor_name": name})
            for step, name in steps
        ]
    return read


def reproductions_of(session: Session, case: CaseRow) -> list[ReproductionRead]:
    numbers = {
        version_id: number
        for version_id, number in session.execute(
            select(CaseVersionRow.id, CaseVersionRow.number).where(
                CaseVersionRow.case_id == case.id
            )
        )
    }
    rows = session.execute(
        select(CaseReproductionRow, User.name)
        .join(User, User.id == CaseReproductionRow.user_id)
        .where(CaseReproductionRow.case_id == case.id)
        .order_by(CaseReproductionRow.at.desc())
    )
    return [
        ReproductionRead.model_validate(r).model_copy(
            update={"version": numbers.get(r.version_id), "user_name": name}
        )
        for r, name in rows
    ]


# --- publishing ------------------------------------------------------------------------------


def _invalid(field: str, message: str, fix: str) -> InvalidInput:
    return InvalidInput(message, field=field, fix=fix)


def _check_license(license: str | None) -> str:
    if not license:
        raise _invalid(
            "license",
            "A case needs a license: others may only re-run and reuse it under known terms.",
            f"Pass license=… with an SPDX id such as {', '.join(domain.LICENSES[:6])}, or "
            "'other:<name>'.",
        )
    value = license.strip().lower()
    if value not in domain.LICENSES and not (value.startswith("other:") and len(value) > 6):
        raise _invalid(
            "license",
            f"{license!r} is not a license this library knows.",
            f"Use one of {', '.join(domain.LICENSES)}, or 'other:<name>'.",
        )
    return value


def _check_sector(sector: str) -> str:
    if sector not in domain.SECTORS:
        raise _invalid(
            "sector",
            f"{sector!r} is not a sector of the case library.",
            f"Use one of: {', '.join(domain.SECTORS)}.",
        )
    return sector


def _runs(
    session: Session,
    principal: Principal,
    run_ids: Sequence[str],
    *,
    statuses: tuple[str, ...] = ("completed",),
) -> list[RunRow]:
    visible = None if principal.is_admin else member_projects(session, principal.user_id)
    rows = []
    for i, run_id in enumerate(run_ids):
        row = session.get(RunRow, run_id)
        if row is None or (visible is not None and row.project_id not in visible):
            raise _invalid(
                f"runs[{i}]",
                f"No run {run_id!r} that you can see.",
                "Pass ids from `zslab runs list` (runs of your projects).",
            )
        if row.status not in statuses:
            raise _invalid(
                f"runs[{i}]",
                f"Run {run_id} is {row.status}; only {' or '.join(statuses)} runs count here.",
                "Pass a run that has ended, or run the template again.",
            )
        rows.append(row)
    return rows


def _results(body: CaseVersionCreate | CaseCreate, runs: Sequence[RunRow]) -> list[dict[str, Any]]:
    raw = (
        body.results
        if body.results is not None
        else domain.results_from_runs([r.metrics for r in runs])
    )
    if not raw:
        raise _invalid(
            "results",
            "The runs recorded no results, so there is nothing to publish.",
            "Record them in the notebook with zslab.record(results=[...]) (see "
            "zslab.cases.model.results_entry), or pass results=[...] explicitly.",
        )
    try:
        return domain.normalize_results(raw)
    except domain.ResultsError as exc:
        raise InvalidInput(
            f"The results cannot be published: {exc}",
            field=exc.errors[0]["field"],
            fix="Each result needs a task, the dataset it was measured on, and numeric metrics.",
            errors=[
                {"field": e["field"], "message": e["message"], "type": "value_error"}
                for e in exc.errors
            ],
        ) from exc


def _compute(session: Session, runs: Sequence[RunRow]) -> dict[str, Any]:
    """Slice-hours, energy, cost, subsidy and domestic share of the leases the runs used."""
    totals: dict[str, float] = defaultdict(float)
    accelerators: list[str] = []
    leases = []
    domestic_hours = 0.0
    currency = "CNY"
    for lease_id in sorted({r.lease_id for r in runs if r.lease_id}):
        lease = session.get(LeaseRow, lease_id)
        if lease is None:
            continue
        leases.append(lease_id)
        placement = lease.placement or {}
        model = placement.get("model")
        label = f"{model} ({lease.spec})" if model else lease.spec
        if label not in accelerators:
            accelerators.append(label)
        metering = lease.metering or {}
        for key in ("slice_hours", "energy_kwh", "cost", "subsidy", "net_cost", "co2_kg"):
            totals[key] += float(metering.get(key) or 0.0)
        if metering.get("domestic"):
            domestic_hours += float(metering.get("slice_hours") or 0.0)
        currency = str(metering.get("currency") or currency)
    hours = totals["slice_hours"]
    return {
        "leases": leases,
        "accelerators": accelerators or (["local CPU"] if runs else []),
        **{k: round(v, 6) for k, v in totals.items()},
        "domestic_share": round(domestic_hours / hours, 4) if hours else None,
        "currency": currency,
    }


def _sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _provenance(runs: Sequence[RunRow]) -> dict[str, Any]:
    per_run = [
        {
            "run": r.id,
            "template": r.template,
            "template_sha256": r.template_sha256,
            "parameters": r.parameters,
            "parameters_sha256": _sha256_json(r.parameters),
            **{k: v for k, v in r.provenance.items() if k not in ("parameters",)},
        }
        for r in runs
    ]
    merged: dict[str, Any] = {"runs": per_run}
    for key in ("model_sha256", "data_card_sha256", "template_sha256"):
        values = {p.get(key) for p in per_run if p.get(key)}
        if len(values) == 1:
            merged[key] = values.pop()
    packages = [p.get("packages") for p in per_run if p.get("packages")]
    if packages:
        merged["packages"] = packages[0]
    return merged


def _notebooks(session: Session, runs: Sequence[RunRow]) -> list[dict[str, Any]]:
    by_run = {r.id: r for r in runs}
    rows = session.scalars(
        select(ArtifactRow)
        .where(ArtifactRow.run_id.in_(list(by_run)), ArtifactRow.name.like("%.ipynb"))
        .order_by(ArtifactRow.run_id, ArtifactRow.name)
    )
    return [
        {
            "run_id": a.run_id,
            "template": by_run[a.run_id].template,
            "name": a.name,
            "sha256": a.sha256,
            "size": a.size,
        }
        for a in rows
    ]


def _new_version(
    session: Session,
    principal: Principal,
    case: CaseRow,
    body: CaseCreate | CaseVersionCreate,
    number: int,
) -> CaseVersionRow:
    runs = _runs(session, principal, body.runs)
    results = _results(body, runs)
    license = _check_license(body.license)
    task = body.task or results[0]["task"]["type"]
    data_card = body.data_card
    if data_card is None:
        hashes = sorted({str(h) for r in runs if (h := r.provenance.get("data_card_sha256"))})
        data_card = {"data_card_sha256": hashes} if hashes else {}
    now = utcnow()
    version = CaseVersionRow(
        id=new_id("cav"),
        case_id=case.id,
        number=number,
        status="in_review" if body.submit else "draft",
        title=body.title,
        title_en=body.title_en,
        summary=body.summary,
        task=task,
        license=license,
        tags=list(dict.fromkeys(body.tags)),
        model=body.model,
        results=results,
        tolerance=dict(body.tolerance),
        model_card=body.model_card,
        data_card=data_card,
        run_ids=[r.id for r in runs],
        notebooks=_notebooks(session, runs),
        compute=_compute(session, runs),
        provenance=_provenance(runs),
        changelog=body.changelog or ("First version." if number == 1 else ""),
        created_by=principal.user_id,
        created_at=now,
        submitted_at=now if body.submit else None,
    )
    session.add(version)
    session.flush()  # no ORM relationships order the inserts: the version goes first
    for row in domain.metric_rows(results):
        session.add(
            CaseMetricRow(
                version_id=version.id,
                case_id=case.id,
                task=row.task,
                dataset=row.dataset,
                dataset_hash=row.dataset_hash,
                config_hash=row.config_hash,
                metric=row.metric,
                value=row.value,
                low=row.low,
                high=row.high,
                higher_is_better=row.higher_is_better,
                published=False,
            )
        )
    if body.submit:
        session.add(
            CaseReviewRow(
                version_id=version.id,
                actor_id=principal.user_id,
                action="submit",
                from_status="draft",
                to_status="in_review",
                comment="",
                at=now,
            )
        )
    return version


def _sync_case(session: Session, case: CaseRow) -> None:
    """Mirror the current version (published if any, else the newest) onto the case row and
    re-index it for search."""
    from zslab.cases.search import index_case

    versions = list(
        session.scalars(
            select(CaseVersionRow)
            .where(CaseVersionRow.case_id == case.id)
            .order_by(CaseVersionRow.number)
        )
    )
    published = [v for v in versions if v.status == "published"]
    shown = published[-1] if published else versions[-1]
    case.published_version = published[-1].number if published else None
    case.current_version = versions[-1].number
    case.status = versions[-1].status
    for name in ("title", "title_en", "summary", "task", "license", "model"):
        setattr(case, name, getattr(shown, name))
    case.tags = list(shown.tags)
    case.datasets = sorted({r["dataset"]["name"] for r in shown.results})
    case.updated_at = utcnow()
    # Boards show each case once: its newest published version.
    live = published[-1].id if published else None
    for metric in session.scalars(select(CaseMetricRow).where(CaseMetricRow.case_id == case.id)):
        metric.published = metric.version_id == live
    session.flush()
    index_case(session, case)


def publish(ctx: Context, body: CaseCreate) -> CaseVersionRead:
    """A new case with its first version (submitted for review unless ``submit=False``)."""
    session = ctx.session
    principal = ctx.principal
    _check_sector(body.sector)
    _check_license(body.license)
    if body.project is not None:
        project = member_project(session, principal, body.project)
    else:
        first = _runs(session, principal, body.runs[:1])[0]
        project = session.get(Project, first.project_id)  # type: ignore[assignment]
        assert project is not None
    slug = body.slug or domain.slugify(body.title_en, body.title)
    if body.slug is not None:
        try:
            from zslab.schemas import _check_slug

            _check_slug(slug)
        except ValueError as exc:
            raise _invalid("slug", f"{slug!r} is not a valid slug: {exc}", "Leave it out.") from exc
        if slug in _RESERVED_SLUGS:
            raise _invalid(
                "slug",
                f"{slug!r} names a page of the gallery (/cases/{slug}).",
                "Choose another slug, or leave it out.",
            )
        if session.scalar(select(CaseRow.id).where(CaseRow.slug == slug)) is not None:
            raise Conflict(
                f"There is already a case {slug!r}.",
                field="slug",
                fix="Choose another slug, or add a version to that case.",
            )
    now = utcnow()
    case = CaseRow(
        id=new_id("cas"),
        slug=slug,
        org_id=project.org_id,
        project_id=project.id,
        owner_id=principal.user_id,
        sector=body.sector,
        visibility=body.visibility,
        created_at=now,
        updated_at=now,
        title=body.title,
        title_en=body.title_en,
        summary=body.summary,
        task="",
        license="",
        tags=[],
        model="",
        datasets=[],
        status="draft",
        current_version=1,
        published_version=None,
        reproduced=False,
        search_text="",
    )
    session.add(case)
    session.flush()
    version = _new_version(session, principal, case, body, 1)
    session.flush()
    _sync_case(session, case)
    return version_read(session, version, slug=case.slug)


def add_version(ctx: Context, slug: str, body: CaseVersionCreate) -> CaseVersionRead:
    """A new version of an existing case (a fix to a published one, or a newer result)."""
    session = ctx.session
    case = find_case(session, ctx.principal, slug, edit=True)
    open_draft = session.scalar(
        select(CaseVersionRow.number).where(
            CaseVersionRow.case_id == case.id,
            CaseVersionRow.status.in_(("draft", "in_review")),
        )
    )
    if open_draft is not None:
        raise Conflict(
            f"Version {open_draft} of {case.slug!r} is still a draft or in review.",
            field="case",
            fix=f"Edit that version (PATCH /api/v1/cases/{case.slug}), or archive it first.",
        )
    version = _new_version(session, ctx.principal, case, body, case.current_version + 1)
    session.flush()
    _sync_case(session, case)
    return version_read(session, version, slug=case.slug)


def update_case(ctx: Context, slug: str, body: CaseUpdate) -> CaseRead:
    """Change visibility, and the content of the newest version while it is a draft."""
    session = ctx.session
    case = find_case(session, ctx.principal, slug, edit=True)
    changes = body.model_dump(exclude_unset=True)
    if "visibility" in changes and body.visibility is not None:
        case.visibility = body.visibility
    content = {k: v for k, v in changes.items() if k != "visibility"}
    if content:
        version = _version(session, case, case.current_version)
        if version.status != "draft":
            raise Conflict(
                f"Version {version.number} of {case.slug!r} is {version.status}; "
                + (
                    "a published version never changes."
                    if version.status in ("published", "archived")
                    else "withdraw it from review before editing."
                ),
                field="version",
                fix="Add a new version with the fix (POST /api/v1/cases/{slug}/versions)"
                if version.status != "in_review"
                else "Withdraw it (action 'withdraw'), edit, then submit again.",
            )
        if "license" in content:
            content["license"] = _check_license(content["license"])
        if "results" in content:
            results = body.results or []
            try:
                content["results"] = domain.normalize_results(results)
            except domain.ResultsError as exc:
                raise InvalidInput(
                    f"The results cannot be published: {exc}",
                    field=exc.errors[0]["field"],
                    fix="Each result needs a task, a dataset and numeric metrics.",
                ) from exc
            for metric in session.scalars(
                select(CaseMetricRow).where(CaseMetricRow.version_id == version.id)
            ):
                session.delete(metric)
            for row in domain.metric_rows(content["results"]):
                session.add(
                    CaseMetricRow(
                        version_id=version.id,
                        case_id=case.id,
                        **{
                            k: getattr(row, k)
                            for k in (
                                "task",
                                "dataset",
                                "dataset_hash",
                                "config_hash",
                                "metric",
                                "value",
                                "low",
                                "high",
                                "higher_is_better",
                            )
                        },
                        published=False,
                    )
                )
        for key, value in content.items():
            if value is not None:
                setattr(version, key, value)
    session.flush()
    _sync_case(session, case)
    ctx.audit(case.id, object_type="case", detail=", ".join(sorted(changes)) or None)
    ctx.commit()
    return case_read(session, case, principal=ctx.principal, full=True)


# --- review ----------------------------------------------------------------------------------


def review(ctx: Context, slug: str, number: int, body: ReviewCreate) -> CaseVersionRead:
    """Take a review action on version ``number`` (see the module docstring for who may)."""
    session = ctx.session
    principal = ctx.principal
    case = find_case(session, principal, slug)
    version = _version(session, case, number)
    if body.action in _REVIEWER_ACTIONS:
        refusal = _review_refusal(session, principal, case, version)
        if refusal:
            raise Forbidden(
                f"You may not {body.action.replace('_', ' ')} {case.slug!r} v{number}: {refusal}.",
                field="action",
                fix="Ask a reviewer of the case's organization (hub role reviewer) to review it.",
            )
    elif body.action == "comment":
        if not may_edit(session, principal, case) and _review_refusal(
            session, principal, case, version
        ):
            raise Forbidden(
                f"Only the case's editors and reviewers may comment on {case.slug!r}.",
                field="action",
            )
    elif not may_edit(session, principal, case):
        raise Forbidden(
            f"Only the owner of {case.slug!r} and members of its project may {body.action} it.",
            field="action",
            fix="Ask the case's owner.",
        )
    if body.action == "request_changes" and not body.comment.strip():
        raise _invalid(
            "comment",
            "Say what should change: requesting changes needs a comment.",
            "Pass comment='…'.",
        )
    try:
        new_status = domain.transition(version.status, body.action)
    except ValueError as exc:
        raise Conflict(str(exc).capitalize() + ".", field="action") from exc
    old_status = version.status
    now = utcnow()
    version.status = new_status
    if body.action == "submit":
        version.submitted_at = now
    elif body.action == "approve":
        version.published_at = now
        version.reviewed_by = principal.user_id
    elif body.action == "request_changes":
        version.reviewed_by = principal.user_id
    elif body.action == "archive":
        version.archived_at = now
    session.add(
        CaseReviewRow(
            version_id=version.id,
            actor_id=principal.user_id,
            action=body.action,
            from_status=old_status,
            to_status=new_status,
            comment=body.comment,
            at=now,
        )
    )
    session.flush()
    _sync_case(session, case)
    detail = f"v{number} {body.action}: {old_status} → {new_status}"
    ctx.audit(
        case.id, object_type="case", detail=detail + (f" ({body.comment})" if body.comment else "")
    )
    ctx.commit()
    return version_read(session, version, slug=case.slug, reviews=True)


# --- reproduction ----------------------------------------------------------------------------


def reproduce(ctx: Context, slug: str, body: ReproductionCreate) -> ReproductionRead:
    """Record a re-run of a version: compare the runs' recorded results with the version's
    (declared tolerance, else overlapping intervals) and grant the badge when they match."""
    session = ctx.session
    principal = ctx.principal
    case = find_case(session, principal, slug)
    number = body.version or case.published_version
    if number is None:
        raise Conflict(
            f"Case {case.slug!r} has no published version to reproduce.",
            field="version",
            fix="Name the version to reproduce with version=N.",
        )
    version = _version(session, case, number)
    # A re-run that failed is still a reproduction: every metric it lacks is a mismatch.
    runs = _runs(session, principal, body.runs, statuses=("completed", "failed"))
    raw = domain.results_from_runs([r.metrics for r in runs if r.status == "completed"])
    try:
        results = domain.normalize_results(raw) if raw else []
    except domain.ResultsError as exc:
        raise _invalid(
            "runs", f"The runs recorded results that are not valid: {exc}", "Fix the template."
        ) from exc
    verdict = domain.compare_reproduction(
        domain.metric_rows(version.results), domain.metric_rows(results), version.tolerance
    )
    hardware = dict(body.hardware)
    lease_id = body.lease_id or next((r.lease_id for r in runs if r.lease_id), None)
    if lease_id is not None:
        lease = session.get(LeaseRow, lease_id)
        if lease is not None:
            hardware.setdefault("lease", lease_id)
            hardware.setdefault("spec", lease.spec)
            if lease.placement:
                hardware.setdefault("model", lease.placement.get("model"))
                hardware.setdefault("pool", lease.placement.get("pool"))
    row = CaseReproductionRow(
        id=new_id("rpr"),
        case_id=case.id,
        version_id=version.id,
        user_id=principal.user_id,
        run_ids=[r.id for r in runs],
        lease_id=lease_id,
        hardware=hardware,
        results=results,
        verdict=verdict.to_json(),
        matched=verdict.matched,
        at=utcnow(),
    )
    session.add(row)
    if verdict.matched and version.status == "published":
        case.reproduced = True
    session.flush()  # committed, with its audit event, by the creating route (Context.create)
    return ReproductionRead.model_validate(row).model_copy(
        update={"version": number, "user_name": principal.user_name}
    )


# --- leaderboards and cards ------------------------------------------------------------------


def leaderboards(
    session: Session,
    principal: Principal | None,
    *,
    task: str | None = None,
    dataset: str | None = None,
    metric: str | None = None,
) -> list[LeaderboardRead]:
    """Ranked published versions per (task, dataset, metric, dataset hash, config hash)."""
    clause = (
        visibility_clause(session, principal)
        if principal is not None
        else and_(CaseRow.visibility == "public", CaseRow.published_version.is_not(None))
    )
    statement = (
        select(
            CaseMetricRow, CaseRow.slug, CaseRow.title, CaseRow.reproduced, CaseVersionRow.number
        )
        .join(CaseRow, CaseRow.id == CaseMetricRow.case_id)
        .join(CaseVersionRow, CaseVersionRow.id == CaseMetricRow.version_id)
        .where(CaseMetricRow.published == true())
    )
    if clause is not None:
        statement = statement.where(clause)
    for column, value in (
        (CaseMetricRow.task, task),
        (CaseMetricRow.dataset, dataset),
        (CaseMetricRow.metric, metric),
    ):
        if value:
            statement = statement.where(column == value)
    boards: dict[tuple[Any, ...], list[domain.BoardEntry]] = defaultdict(list)
    better: dict[tuple[Any, ...], bool] = {}
    for metric_row, slug, title, reproduced, number in session.execute(statement):
        key = (
            metric_row.task,
            metric_row.dataset,
            metric_row.metric,
            metric_row.dataset_hash,
            metric_row.config_hash,
        )
        better[key] = metric_row.higher_is_better
        entries = boards[key]
        if any(e.slug == slug for e in entries):  # one entry per case: its best row
            continue
        entries.append(
            domain.BoardEntry(
                slug, number, title, metric_row.value, metric_row.low, metric_row.high, reproduced
            )
        )
    out = []
    for key in sorted(boards, key=lambda k: tuple(str(p) for p in k)):
        ranked = domain.rank_board(boards[key], higher_better=better[key])
        out.append(
            LeaderboardRead(
                task=key[0],
                dataset=key[1],
                metric=key[2],
                dataset_hash=key[3],
                config_hash=key[4],
                higher_is_better=better[key],
                entries=[
                    BoardEntryRead(
                        rank=e.rank,
                        tied=e.tied,
                        slug=e.slug,
                        version=e.version,
                        title=e.title,
                        value=e.value,
                        low=e.low,
                        high=e.high,
                        reproduced=e.reproduced,
                    )
                    for e in ranked
                ],
            )
        )
    return out


def model_card(session: Session, case: CaseRow, number: int | None = None) -> str:
    """The Hugging Face ``README.md`` of a version (default: the published one, else newest)."""
    version = _version(session, case, number or case.published_version or case.current_version)
    card = {
        "slug": case.slug,
        "sector": case.sector,
        "visibility": case.visibility,
        "reproduced": case.reproduced,
    }
    fields = {
        name: getattr(version, name)
        for name in (
            "number",
            "title",
            "title_en",
            "summary",
            "license",
            "tags",
            "results",
            "model",
            "compute",
            "provenance",
        )
    }
    text = domain.model_card(card, fields)
    if version.model_card.strip():
        text += "\n## Model card (from the authors)\n\n" + version.model_card.strip() + "\n"
    return text
