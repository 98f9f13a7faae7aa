"""``make demo``: the main job on the embedded default, narrated.

Starts (or finds) the embedded hub and its Dask cluster, sets up an organization, a course
project and a student through the SDK, shows what a member may and may not do, has the student
request an accelerator slice (pools, cost estimate, lease with heartbeats, code run on the
lease's own Dask worker, renewal, release, a valley-tariff batch request, usage), curates a
corpus on the Dask cluster (clean, redact PII, dedup; data card; tokenize; stream), fine-tunes
and evaluates the tiny model against a TF-IDF baseline with the templates (recorded as a run),
publishes that run to the case library (a reviewer approves it, the student re-runs it for
the reproduced badge, the gallery URL is printed), and prints the audit trail of it all.
Safe to run again: it reuses what it made before. Stops
the hub afterwards only if it started it.

    python -m zslab.demo            # or: make demo
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import zslab
from zslab.config import Settings, load_settings

ORG = "demo-univ"
PROJECT = f"{ORG}/nlp-course"
STUDENT = "student01"
REVIEWER = "reviewer01"
SLICE = "h100:3g.40gb"

# 《人民日报》-style sentences to count characters in, as a stand-in for a corpus shard.
SAMPLE = [
    "上海推进智算云建设，打造全国领先的算力调度平台。",
    "人工智能赋能金融、教育、医疗、文旅、工业和城市治理。",
    "算力券支持中小企业使用国产加速卡开展模型训练。",
    "课程项目为每位学生预留算力切片，按分时电价计费。",
]


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _ensure(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Create something, or say it is already there (the demo is re-runnable)."""
    try:
        return fn(*args, **kwargs)
    except zslab.Conflict as exc:
        print(f"   (already there: {exc.detail})")
        return None


def main() -> int:
    from zslab import embedded

    settings = load_settings()
    already_running = embedded.probe(settings).status == "running"

    try:
        _tour(settings, already_running)
    finally:
        if not already_running and embedded.probe(settings).status == "running":
            step("9. Stop the hub this demo started")
            print("   " + embedded.stop(settings))
    if already_running:
        print("\nThe hub was already running before the demo; it keeps running (`zslab down`).")
    return 0


def _tour(settings: Settings, already_running: bool) -> None:
    step("1. Connect: find the embedded hub, or start it with a Dask LocalCluster")
    started = time.perf_counter()
    lab = zslab.connect()
    health = lab.health()
    runtime = lab.runtime
    print(
        f"   hub {lab.url} ({'found running' if already_running else 'started'} in "
        f"{time.perf_counter() - started:.1f} s), database {health.database['url']}"
    )
    if runtime and runtime.dask_scheduler:
        print(f"   dask scheduler {runtime.dask_scheduler}, dashboard {runtime.dask_dashboard}")
    me = lab.me()
    print(f"   acting as {me.user.name} ({me.user.role}), token {me.token.id}")

    step("2. An organization, a course project and a student")
    _ensure(lab.orgs.add, ORG, name="示范大学 Demo University")
    _ensure(lab.projects.add, ORG, "nlp-course", name="自然语言处理课程", description="A class")
    _ensure(lab.users.add, STUDENT, display_name="学生 01")
    lab.projects.add_member(PROJECT, STUDENT)
    token = lab.tokens.create("demo", user=STUDENT, scopes=["read", "write"], expires_in_days=1)
    print(
        f"   {PROJECT}: members "
        + ", ".join(f"{m.user_name} ({m.role})" for m in lab.projects.members(PROJECT))
    )
    print(f"   token {token.id} for {STUDENT}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC")

    step("3. What the student may do, and the errors that say why not")
    student = zslab.connect(lab.url, token.secret)
    print(f"   {STUDENT} sees projects: {[p.slug for p in student.projects.list()]}")
    for attempt, call in [
        ("list all users", lambda: student.users.list()),
        ("create an organization", lambda: student.orgs.add("rogue-org")),
        ("add a user named 'Bad Name'", lambda: lab.users.add("Bad Name")),
    ]:
        try:
            call()
        except zslab.ZslabError as exc:
            print(f"   {attempt}: {type(exc).__name__}: {exc.detail}")
            if exc.fix:
                print(f"      fix: {exc.fix}")

    step("4. An accelerator slice for the student")
    _slices(lab, student)
    student.close()

    step("5. Curate a corpus on the embedded Dask cluster, tokenize it, stream it")
    if runtime and runtime.dask_scheduler:
        from distributed import Client

        with Client(runtime.dask_scheduler, timeout=60) as client:
            _corpus(settings.home / "demo-corpus", client)
    else:
        print("   (this hub runs without Dask: start it with `zslab up` to include a cluster)")

    step("6. Fine-tune the tiny model on the reviews and evaluate it against TF-IDF (templates)")
    evaluation = _train_and_evaluate(lab)

    step("7. Publish the result to the case library; a reviewer approves; the student re-runs it")
    if evaluation.completed and evaluation.run_id:
        _publish_case(lab, evaluation.run_id)
    else:
        print(
            f"   (the evaluation did not complete, so there is nothing to publish: "
            f"{evaluation.error})"
        )

    step("8. The audit trail: every mutating call, who, what, outcome")
    for event in reversed(lab.audit.list(limit=8)):
        print(
            f"   #{event.id:<4} {event.at:%H:%M:%S} {event.actor_name or '-':<10} "
            f"{event.action:<20} {event.status} {event.outcome}"
        )

    lab.close()


def _corpus(folder: Any, client: Any) -> None:
    """The stream verb: People's Daily 1998 and reviews with planted duplicates and PII,
    through the demo pipeline; then a character tokenizer, packed token shards, a stream."""
    import json

    from zslab.corpus import iter_texts
    from zslab.corpus.demo import write_demo_corpus
    from zslab.corpus.pipeline import load_pipeline
    from zslab.corpus.stream import stream
    from zslab.corpus.tokenize import save_tokenizer, tokenize_shards, train_tokenizer

    pipeline_file = folder / "pipeline.yaml"
    if not pipeline_file.exists():
        write_demo_corpus(folder, articles=300, review_count=500, english=60, shard_docs=200)
    config = load_pipeline(pipeline_file)
    result = config.pipeline.run(
        config.corpus(), config.output, client=client, progress=False, overwrite=True
    )
    card = result.card
    workers = len(client.scheduler_info()["workers"])
    print(
        f"   {card['input']['documents']:,} documents in, {result.documents:,} out, "
        f"{card['input']['shards']} shards on {workers} Dask worker(s) in {result.seconds:.1f} s"
    )
    for row in card["steps"]:
        reasons = ", ".join(f"{k} {v}" for k, v in row["dropped"].items())
        print(
            f"     {row['step']:<14} kept {row['kept']:>5}  modified {row['modified']:>4}"
            + (f"  dropped: {reasons}" if reasons else "")
        )
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    text = "".join(iter_texts(config.output))
    planted = [value for pairs in truth["pii"].values() for _, value in pairs]
    left = sum(1 for value in planted if value in text)
    print(
        f"   planted PII values still in the output: {left} of {len(planted)}; redacted: "
        + ", ".join(f"{k} {v}" for k, v in card["pii"].items())
    )
    print(f"   data card: {folder / 'curated' / 'datacard.md'}")
    tokenizer = train_tokenizer(iter_texts(config.output), kind="char", vocab_size=3000)
    save_tokenizer(tokenizer, folder / "tokenizer")
    stats = tokenize_shards(
        config.output, folder / "tokens", folder / "tokenizer", seq_len=128, progress=False
    )
    data = stream(folder / "tokens", batch_size=4, seed=0)
    first = next(iter(data))
    print(
        f"   tokenized {stats.docs:,} documents into {stats.sequences:,} sequences of 128; "
        f"first batch {tuple(first.shape)}, resumable from {list(data.state_dict())[:3]}…"
    )


def _train_and_evaluate(lab: zslab.Lab) -> Any:
    """The run verb: the `evaluate` template fine-tunes the tiny built-in model as a sentiment
    classifier (the `finetune` template), evaluates it and a TF-IDF + logistic-regression
    baseline on a held-out split deduplicated against training, and records all of it as a run
    in the hub, with the executed notebook."""
    result = lab.run("evaluate", {"finetune_steps": 60, "n_resamples": 300}, project=PROJECT)
    metrics = result.metrics
    delta = metrics.get("accuracy_delta") or {}

    def show(value: Any) -> str:
        if isinstance(value, dict) and "value" in value:
            return f"{value['value']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    print(f"   run {result.run_id}: {result.status} in {result.seconds:.0f} s")
    print(f"   tiny model accuracy {show(metrics.get('model_accuracy'))}")
    print(f"   TF-IDF baseline     {show(metrics.get('baseline_accuracy'))}")
    if delta:
        print(
            f"   paired bootstrap: model − baseline {delta.get('delta', 0):+.3f}, "
            f"p = {delta.get('p_value', 1):.3f} (60 steps: a smoke run; "
            "benchmarks/train_classifier trains for longer)"
        )
    print(f"   executed notebook: {result.executed_notebook_path}")
    return result


def _publish_case(lab: zslab.Lab, run_id: str) -> None:
    """The publish verb: the evaluation run becomes a case (results with CIs, the executed
    notebook, provenance), a reviewer of the organization approves it, the student re-runs
    it and the hub grants the reproduced badge when the metrics agree."""
    _ensure(lab.users.add, REVIEWER, role="reviewer", display_name="审核员 Reviewer")
    _ensure(lab.orgs.add_member, ORG, REVIEWER)
    secret = lab.tokens.create("demo-review", user=REVIEWER, expires_in_days=1).secret
    version = lab.cases.publish(
        run_id,
        sector="online_economy",
        title="商品评论情感分类（小模型 vs TF-IDF）",
        title_en="Product-review sentiment: tiny model vs TF-IDF",
        summary="在 CPU 上微调内置小模型，在去重的留出评论上与 TF-IDF + 逻辑回归基线比较。"
        " The built-in tiny model fine-tuned on CPU, evaluated on held-out reviews "
        "deduplicated against training, next to a TF-IDF + logistic-regression baseline.",
        license="apache-2.0",
        visibility="public",
        model="zslab-tiny",
        tags=["情感分析", "sentiment", "课程示例"],
    )
    print(f"   published {version.slug} v{version.number}: {version.status}")
    with zslab.connect(lab.url, secret) as reviewer:
        approved = reviewer.cases.approve(version.slug, comment="notebook and metrics checked")
    print(f"   {REVIEWER} approved it: {approved.status}")
    hits = lab.cases.search("情感", sector="online_economy")
    print(f"   search 情感 in online_economy: {hits.total} case(s), first {hits.items[0].slug}")
    for board in lab.cases.leaderboards(task="text-classification", metric="accuracy")[:1]:
        for entry in board.entries[:3]:
            tie = "=" if entry.tied else " "
            print(
                f"   leaderboard {tie}{entry.rank} {entry.slug} v{entry.version} "
                f"{entry.value:.3f} [{entry.low:.3f}, {entry.high:.3f}]"
            )
    student_token = lab.tokens.create("demo-rerun", user=STUDENT, expires_in_days=1).secret
    with zslab.connect(lab.url, student_token) as student:
        record = student.cases.reproduce(version.slug)
    verdict = "matched: reproduced badge granted" if record.matched else "did NOT match"
    print(f"   {STUDENT} re-ran it on {record.hardware.get('processor')}: {verdict}")
    for comparison in record.verdict["comparisons"]:
        print(
            f"     {comparison['metric']}: published {comparison['published']:.3f}, "
            f"re-run {comparison['reproduced']:.3f} ({comparison['rule']})"
        )
    print(f"   gallery: {lab.url}/cases/{version.slug}")
    print("     (the page lives as long as the hub: after the demo, `zslab up` serves it again)")
    print(f"   model card: zslab cases export {version.slug} -o README.md")


def _on_the_slice(lines: list[str]) -> dict[str, Any]:
    """Runs on the lease's own Dask worker."""
    import os

    from distributed import get_worker

    return {
        "worker": get_worker().name,
        "lease": os.environ.get("ZSLAB_LEASE_ID"),
        "devices": os.environ.get("ZSLAB_SIMULATED_DEVICES")
        or os.environ.get("CUDA_VISIBLE_DEVICES"),
        "chars": sum(len(line) for line in lines),
    }


def lease_has_worker(lease: Any) -> bool:
    """Whether the hub starts workers (it does when it runs with a Dask scheduler)."""
    try:
        lease.wait_for_worker(timeout=60)
    except zslab.ZslabError as exc:
        print(f"   (no worker for the lease: {exc})")
        return False
    return True


def _slices(lab: zslab.Lab, student: zslab.Lab) -> None:
    pools = lab.pools()
    free = sum(p.free_devices for p in pools)
    print(f"   {len(pools)} pools, {free} of {sum(p.devices for p in pools)} devices free; a few:")
    for pool in [p for p in pools if p.devices][:4]:
        mark = " (domestic)" if pool.domestic else ""
        print(
            f"     {pool.site}/{pool.pool}: {pool.model}{mark}, "
            f"{pool.free_devices}/{pool.devices} free"
        )
    estimate = student.estimate(SLICE, hours=2)
    print(
        f"   estimate for {SLICE} × 2 h: {estimate.cost:.2f} {estimate.currency}, "
        f"subsidy {estimate.subsidy:.2f}, net {estimate.net_cost:.2f}"
        + (" (example tariff)" if estimate.tariff_is_example else "")
    )
    with student.request(SLICE, hours=1, project=PROJECT) as lease:
        where = lease.placement or {}
        print(f"   lease {lease.id}: {lease.state} on {where.get('node')} ({where.get('pool')})")
        if lease_has_worker(lease):
            seen = lease.submit(_on_the_slice, SAMPLE).result(timeout=60)
            print(
                f"   ran on its worker {seen['worker']} (lease {seen['lease']}): "
                f"{seen['chars']} characters counted; devices {seen['devices']}"
            )
        lease.renew(2)
        print(f"   renewed: expires {lease.expires_at:%H:%M} UTC; heartbeats run in the background")
    print(f"   released: {lease.refresh().state}; events: {[e.type for e in lease.events()]}")

    deadline = datetime.now(UTC) + timedelta(days=1)
    batch = student.request(
        "h100:1g.10gb", hours=2, priority="batch", project=PROJECT, flexible=True, deadline=deadline
    )
    if batch.data.not_before is not None:
        print(
            f"   flexible batch job deferred to {batch.data.not_before:%H:%M} UTC: "
            + batch.data.reason
        )
    else:
        print(f"   flexible batch job: {batch.state} ({batch.data.reason or 'cheapest now'})")
    batch.release()

    for row in lab.usage(group_by="project"):
        print(
            f"   usage of {row.name}: {row.leases} lease(s), {row.slice_hours * 3600:.2f} "
            f"slice-seconds, {row.energy_kwh * 1000:.3f} Wh, net {row.net_cost:.5f} {row.currency}"
        )


if __name__ == "__main__":
    sys.exit(main())
