"""Notebook displays: a lease card, pipeline progress, a training monitor and a case card.

Each display is a plain object that holds its state and renders two ways::

    card = LeaseCard(lab.request("h100:3g.40gb", hours=1))
    card          # JupyterLab: a live ipywidgets card; elsewhere: one line of text
    print(card)   # always the text

**How the fallback works.** ``_repr_mimebundle_`` always returns ``text/plain`` and
``text/markdown`` written for people, and adds the ipywidgets view only when
:func:`in_widget_frontend` says a kernel with ipywidgets runs the code. A frontend that renders
widgets shows the widget (it ranks the widget view first); one that does not — papermill and
nbval outputs, nbconvert, GitHub — shows the markdown or the text. Papermill and nbval set
nothing a kernel could see, so they are not detected; their saved outputs read well because
the text is in every bundle. ``ZSLAB_WIDGETS=0`` forces text everywhere.

Without a frontend (plain Python, tests) the classes work headless: ``update``/``add_shard``/
calling the monitor change the state, ``str()`` gives the text, and ``.widget`` builds the
ipywidgets tree on demand (it needs no kernel).
"""

from __future__ import annotations

import abc
import functools
import html
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zslab.client import Lease
    from zslab.corpus.core import StepStats
    from zslab.corpus.pipeline import RunResult
    from zslab.schemas import CaseRead, CaseVersionRead
    from zslab.train.finetune import LossPlot

__all__ = [
    "CaseCard",
    "LeaseCard",
    "PipelineProgress",
    "TrainingMonitor",
    "countdown",
    "in_widget_frontend",
]

ENDED_STATES = frozenset({"released", "expired", "preempted", "failed"})
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def in_widget_frontend() -> bool:
    """True when displays should be ipywidgets: ipywidgets imports, the code runs in an IPython
    kernel (``get_ipython().kernel``), and ``ZSLAB_WIDGETS`` is not ``0``/``false``/``no``."""
    if os.environ.get("ZSLAB_WIDGETS", "").strip().lower() in {"0", "false", "no", "off"}:
        return False
    try:
        import ipywidgets  # type: ignore[import-untyped]  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def countdown(expires_at: datetime | None, now: datetime) -> str:
    """How long until ``expires_at``, for people.

    >>> from datetime import timedelta
    >>> t = datetime(2025, 1, 1, tzinfo=UTC)
    >>> [countdown(t + timedelta(seconds=s), t) for s in (7500, 3599, 59, 0)]
    ['2 h 05 min left', '59 min left', '59 s left', 'expired']
    """
    if expires_at is None:
        return "no expiry"
    if expires_at.tzinfo is None:  # the hub speaks UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"{seconds // 60} min left"
    return f"{seconds} s left"


def _error_text(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or str(exc)
    fix = getattr(exc, "fix", None)
    return f"{detail} Fix: {fix}" if fix and fix not in detail else detail


class _Display(abc.ABC):
    """The shared rendering: text and markdown always, the widget view in a widget frontend."""

    _widget: Any = None

    @abc.abstractmethod
    def text(self) -> str:
        """The readable text (papermill, nbval, plain Python)."""

    def markdown(self) -> str:
        return self.text()

    @abc.abstractmethod
    def _build(self) -> Any:
        """The ipywidgets tree."""

    @property
    def widget(self) -> Any:
        """The ipywidgets tree (built on first use; None without ipywidgets)."""
        if self._widget is None:
            try:
                import ipywidgets  # noqa: F401
            except ImportError:
                return None
            self._widget = self._build()
            self._refresh()
        return self._widget

    def _refresh(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Copy the state into the widgets (only called once they exist)."""

    def close(self) -> None:
        """Close the widget (its views disappear from the page)."""
        if self._widget is not None:
            self._widget.close()

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"text/plain": self.text(), "text/markdown": self.markdown()}
        if in_widget_frontend():
            widget = self.widget
            if widget is not None and widget.comm is not None:
                data[WIDGET_VIEW] = {
                    "version_major": 2,
                    "version_minor": 0,
                    "model_id": widget.model_id,
                }
                self._shown()
        return data

    def _shown(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Called when the widget view goes to a frontend (start live updates here)."""


# --- lease -----------------------------------------------------------------------------------


class LeaseCard(_Display):
    """A lease: spec, state, where it runs, a live countdown to expiry, cost, Renew and Release.

    ``LeaseCard(lease)`` (a :class:`zslab.client.Lease`). Shown in JupyterLab the countdown
    ticks every second from a daemon thread, and the lease is re-read every ``refresh_s``;
    the thread stops when the lease ends or the card is closed. Errors from Renew/Release
    appear on the card. ``now`` is the clock (tests pass a fixed one).
    """

    def __init__(
        self,
        lease: Lease,
        *,
        current: bool = False,
        renew_hours: float = 1.0,
        refresh_s: float = 30.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.lease = lease
        self.current = current
        self.renew_hours = renew_hours
        self.refresh_s = refresh_s
        self.now = now or (lambda: datetime.now(UTC))
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def ended(self) -> bool:
        return self.lease.state in ENDED_STATES

    def cost(self) -> str | None:
        """The metered cost, when the lease read carries it (ended leases do)."""
        metering = self.lease.data.metering or {}
        cost = metering.get("net_cost", metering.get("cost"))
        if cost is None:
            return None
        currency = metering.get("currency", "")
        value = float(cost)
        # Short leases cost fractions of a fen: say so rather than "0.00".
        shown = "< 0.01" if 0 < value < 0.01 else f"{value:.2f}"
        return f"{shown}{' ' + currency if currency else ''}"

    def _where(self) -> str:
        placement = self.lease.placement or {}
        node, pool = placement.get("node"), placement.get("pool")
        if node is None:
            return ""
        return f" on {node}" + (f" · pool {pool}" if pool else "")

    def status(self) -> str:
        """State, place and time left, e.g. ``granted on h-01 · pool h100 · 59 min left``."""
        lease = self.lease
        parts = [f"{lease.state}{self._where()}"]
        if lease.state == "queued" and lease.queue is not None:
            parts[0] += f" (position {lease.queue.position})"
        if lease.state in {"granted", "active"}:
            parts.append(countdown(lease.expires_at, self.now()))
        elif lease.data.reason:
            parts.append(lease.data.reason)
        cost = self.cost()
        if cost is not None:
            parts.append(f"cost {cost}" if self.ended else f"cost so far {cost}")
        return " · ".join(parts)

    def text(self) -> str:
        mark = "* " if self.current else ""
        line = f"{mark}lease {self.lease.id} {self.lease.spec} {self.status()}"
        return f"{line}\n  error: {self.error}" if self.error else line

    def markdown(self) -> str:
        mark = "**current** · " if self.current else ""
        line = f"{mark}lease `{self.lease.id}` · `{self.lease.spec}` · {self.status()}"
        return f"{line}  \n⚠ {self.error}" if self.error else line

    # --- actions ---------------------------------------------------------------------------

    def renew(self, hours: float | None = None) -> None:
        """Renew for ``hours`` from now (default ``renew_hours``; the hub sets the expiry to
        now + hours); an error is kept and shown."""
        self._act(lambda: self.lease.renew(hours or self.renew_hours))

    def release(self) -> None:
        """Release the lease; an error is kept and shown."""
        self._act(self.lease.release)

    def _act(self, action: Callable[[], Any]) -> None:
        from zslab.errors import ZslabError

        try:
            action()
            self.error = None
        except ZslabError as exc:
            self.error = _error_text(exc)
        self._refresh()
        if self.ended:
            self.stop()

    def tick(self, *, reread: bool = False) -> None:
        """Update the countdown (and re-read the lease from the hub when ``reread``)."""
        if reread:
            from zslab.errors import ZslabError

            try:
                self.lease.refresh()
            except ZslabError as exc:  # keep ticking: the hub may be back next time
                self.error = _error_text(exc)
        self._refresh()

    # --- widget ----------------------------------------------------------------------------

    def _build(self) -> Any:
        import ipywidgets as w

        self.title = w.HTML()
        self.countdown_label = w.Label()
        self.error_label = w.HTML()
        self.renew_button = w.Button(
            description=f"Renew {self.renew_hours:g} h",
            tooltip=f"expire {self.renew_hours:g} h from now (the hub renews from now)",
            icon="clock",
        )
        self.release_button = w.Button(description="Release", button_style="danger", icon="stop")
        self.renew_button.on_click(lambda _: self.renew())
        self.release_button.on_click(lambda _: self.release())
        buttons = w.HBox([self.renew_button, self.release_button])
        return w.VBox([self.title, self.countdown_label, buttons, self.error_label])

    def _refresh(self) -> None:
        if self._widget is None:
            return
        lease = self.lease
        with self._lock:
            self.title.value = (
                f"<b>lease</b> <code>{html.escape(lease.id)}</code> "
                f"<code>{html.escape(lease.spec)}</code>"
                + (" <i>(current)</i>" if self.current else "")
            )
            self.countdown_label.value = self.status()
            self.error_label.value = (
                f'<span style="color:#b00020">{html.escape(self.error)}</span>'
                if self.error
                else ""
            )
            self.renew_button.disabled = self.release_button.disabled = self.ended

    def _shown(self) -> None:
        self.start()

    def start(self, interval: float = 1.0) -> None:
        """Tick every ``interval`` seconds from a daemon thread until the lease ends or the card
        closes (showing the card in JupyterLab starts this)."""
        if self._thread is not None or self.ended:
            return
        self._stop.clear()

        def run() -> None:
            ticks, reread_every = 0, max(1, round(self.refresh_s / interval))
            while not self._stop.wait(interval):
                if self.ended or (self._widget is not None and self._widget.comm is None):
                    break
                ticks += 1
                self.tick(reread=ticks % reread_every == 0)
            self._thread = None

        self._thread = threading.Thread(target=run, name=f"lease-card-{self.lease.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()
        super().close()


# --- corpus pipeline -------------------------------------------------------------------------


class PipelineProgress(_Display):
    """A corpus pipeline run: per-step seen/kept/modified/dropped, and a bar over shard tasks.

    After a run: ``PipelineProgress.from_result(pipeline.run(...))``. Live: feed each shard
    task's result (``{"steps": [StepStats.to_json(), ...]}``) to :meth:`add_shard` and each
    corpus step's select result to :meth:`add_select`.
    """

    def __init__(self, steps: Iterable[str] = (), *, total: int = 0, name: str = "") -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.stats: dict[str, StepStats] = {}
        for step in steps:
            self._stats_of(step)
        self.documents_in: int | None = None
        self.documents_out: int | None = None
        self.seconds: float | None = None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> PipelineProgress:
        """The final view of a run from its data card (``datacard.json``)."""
        progress = cls(name=str(card.get("name", "")))
        for step in card.get("steps", []):
            progress._merge(step)
        progress.total = progress.done = int(card.get("input", {}).get("shards", 0))
        progress.documents_in = card.get("input", {}).get("documents")
        progress.documents_out = card.get("output", {}).get("documents")
        progress.seconds = card.get("seconds")
        return progress

    @classmethod
    def from_result(cls, result: RunResult) -> PipelineProgress:
        """The final view of a :class:`zslab.corpus.pipeline.RunResult`."""
        return cls.from_card(result.card)

    def _stats_of(self, step: str) -> StepStats:
        from zslab.corpus.core import StepStats

        return self.stats.setdefault(step, StepStats(step))

    def _merge(self, data: Mapping[str, Any]) -> None:
        from zslab.corpus.core import StepStats

        self._stats_of(data["step"]).merge(StepStats.from_json(data))

    def add_shard(self, result: Mapping[str, Any]) -> None:
        """Count one finished shard task (its ``steps`` stats); a resumed one counts too."""
        for step in result.get("steps", []):
            self._merge(step)
        self.done += 1
        self._refresh()

    def __call__(self, result: Mapping[str, Any]) -> None:
        """The ``on_result`` hook of :meth:`zslab.corpus.pipeline.Pipeline.run`: shard stats,
        or ``{"select": …}`` from a corpus-wide step."""
        if "select" in result:
            self.add_select(result["select"])
        else:
            self.add_shard(result)

    def add_select(self, result: Mapping[str, Any]) -> None:
        """Count a corpus step's select (its ``stats``)."""
        if "stats" in result:
            self._merge(result["stats"])
        self._refresh()

    def rows(self) -> list[tuple[str, int, int, int, int, str]]:
        """``(step, seen, kept, modified, dropped, top drop reasons)`` per step."""
        out = []
        for name, stats in self.stats.items():
            reasons = ", ".join(f"{r} {n}" for r, n in stats.dropped.most_common(3))
            dropped = sum(stats.dropped.values())
            out.append((name, stats.seen, stats.kept, stats.modified, dropped, reasons))
        return out

    def headline(self) -> str:
        parts = [f"pipeline {self.name}".rstrip()]
        if self.documents_in is not None and self.documents_out is not None:
            parts.append(f"{self.documents_in} → {self.documents_out} documents")
        if self.total:
            parts.append(f"{self.done}/{self.total} shard tasks")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.1f} s")
        return " · ".join(parts)

    def text(self) -> str:
        header = ("step", "seen", "kept", "modified", "dropped")
        width = max([len(header[0]), *(len(r[0]) for r in self.rows())])
        lines = [
            self.headline(),
            f"{header[0]:<{width}}  {'seen':>8}  {'kept':>8}  {'modified':>8}  {'dropped':>8}",
        ]
        for step, seen, kept, modified, dropped, reasons in self.rows():
            line = f"{step:<{width}}  {seen:>8}  {kept:>8}  {modified:>8}  {dropped:>8}"
            lines.append(f"{line}  ({reasons})" if reasons else line)
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            f"**{self.headline()}**",
            "",
            "| step | seen | kept | modified | dropped | top reasons |",
            "|---|--:|--:|--:|--:|---|",
        ]
        for step, seen, kept, modified, dropped, reasons in self.rows():
            lines.append(f"| {step} | {seen} | {kept} | {modified} | {dropped} | {reasons} |")
        return "\n".join(lines)

    def _build(self) -> Any:
        import ipywidgets as w

        self.bar = w.IntProgress(min=0, max=1, description="shards")
        self.label = w.HTML()
        self.table = w.HTML()
        return w.VBox([self.label, self.bar, self.table])

    def _refresh(self) -> None:
        if self._widget is None:
            return
        self.bar.max = max(self.total, self.done, 1)
        self.bar.value = self.done
        self.bar.bar_style = "success" if self.total and self.done >= self.total else ""
        self.label.value = f"<b>{html.escape(self.headline())}</b>"
        cells = "".join(
            f"<tr><td>{html.escape(step)}</td><td>{seen}</td><td>{kept}</td><td>{modified}</td>"
            f"<td>{dropped}</td><td>{html.escape(reasons)}</td></tr>"
            for step, seen, kept, modified, dropped, reasons in self.rows()
        )
        self.table.value = (
            "<table><tr><th>step</th><th>seen</th><th>kept</th><th>modified</th>"
            f"<th>dropped</th><th>top reasons</th></tr>{cells}</table>"
        )


# --- training --------------------------------------------------------------------------------


def _loss_curve(width: int, height: int) -> LossPlot:
    """:class:`LossPlot`'s series and SVG, without the widget LossPlot displays of its own
    (imported here: it brings torch, which ``%load_ext zslab`` should not pay for)."""
    return _loss_curve_class()(width, height)


@functools.cache
def _loss_curve_class() -> type[LossPlot]:
    from zslab.train.finetune import LossPlot

    class LossCurve(LossPlot):
        def __init__(self, width: int = 480, height: int = 160) -> None:
            self.width, self.height = width, height
            self.train: list[tuple[int, float]] = []
            self.eval: list[tuple[int, float]] = []
            self._widget = None

    return LossCurve


class TrainingMonitor(_Display):
    """A callback for ``finetune(..., callbacks=[TrainingMonitor()])``: a live loss curve with
    step, loss, eval loss and tokens per second.

    In a widget frontend it shows itself when created and refreshes its saved text every
    ``every`` records; elsewhere it prints one line every ``every`` records (and every eval).
    """

    def __init__(
        self, *, every: int = 10, width: int = 480, height: int = 160, show: bool = True
    ) -> None:
        self.every = max(1, every)
        self.curve = _loss_curve(width, height)
        self.records = 0
        self.last: dict[str, Any] = {}
        self.last_eval: dict[str, Any] = {}
        self._handle: Any = None
        self._live = show and in_widget_frontend()
        if self._live:
            from IPython.display import display

            self._handle = display(self, display_id=True)

    def __call__(self, record: dict[str, Any]) -> None:
        self.curve(record)
        self.records += 1
        if record.get("eval"):
            self.last_eval = record
        else:
            self.last = record
        self._refresh()
        due = self.records % self.every == 0
        if self._live:
            if due and self._handle is not None:
                self._handle.update(self)  # keeps the saved text current (papermill, nbval)
        elif due or record.get("eval"):
            print(self.line(record), flush=True)

    def svg(self) -> str:
        return self.curve.svg()

    @staticmethod
    def line(record: Mapping[str, Any]) -> str:
        """One record as a line: ``step 20 · loss 2.3456 · 1,234 tok/s``."""
        parts = [f"step {record.get('step')}"]
        for key, value in record.items():
            if key in {"step", "eval", "lr", "tokens", "tokens_per_s"}:
                continue
            if isinstance(value, int | float):
                parts.append(f"{key} {value:.4f}")
        if "tokens_per_s" in record:
            parts.append(f"{record['tokens_per_s']:,.0f} tok/s")
        return " · ".join(parts)

    def text(self) -> str:
        if not self.records:
            return "training: no records yet"
        lines = [f"training: {self.line(self.last)}" if self.last else "training"]
        if self.curve.train:
            step, best = min(self.curve.train, key=lambda p: p[1])
            lines[0] += f" · best loss {best:.4f} at step {step}"
        if self.last_eval:
            lines.append(f"  eval: {self.line(self.last_eval)}")
        return "\n".join(lines)

    def markdown(self) -> str:
        return self.text().replace("\n  ", "  \n")

    def _build(self) -> Any:
        import ipywidgets as w

        self.plot = w.HTML()
        self.step_label = w.Label()
        self.speed_label = w.Label()
        self.eval_label = w.Label()
        return w.VBox([self.plot, w.HBox([self.step_label, self.speed_label]), self.eval_label])

    def _refresh(self) -> None:
        if self._widget is None:
            return
        self.plot.value = self.svg()
        last = self.last
        if last:
            self.step_label.value = f"step {last.get('step')} · loss {last.get('loss', 0.0):.4f}"
            if "tokens_per_s" in last:
                self.speed_label.value = f" · {last['tokens_per_s']:,.0f} tok/s"
        if self.last_eval:
            self.eval_label.value = f"eval: {self.line(self.last_eval)}"


# --- cases -----------------------------------------------------------------------------------


class CaseCard(_Display):
    """A case: titles, sector, status, reproduced badge, headline metrics with CIs and its
    gallery link (``{hub_url}/cases/{slug}``, given ``hub_url``, e.g. ``lab.url``).

    ``CaseCard(lab.cases.get("credit-risk"), hub_url=lab.url)``; metrics come from the
    published version (else the current one) when the read carries versions.
    """

    def __init__(self, case: CaseRead, *, hub_url: str | None = None, metrics: int = 4) -> None:
        self.case = case
        self.hub_url = hub_url.rstrip("/") if hub_url else None
        self.max_metrics = metrics

    @property
    def link(self) -> str | None:
        return f"{self.hub_url}/cases/{self.case.slug}" if self.hub_url else None

    def sector(self) -> str:
        from zslab.cases.model import SECTORS

        zh, en = SECTORS.get(self.case.sector, ("", self.case.sector))
        return f"{zh} {en}".strip()

    def version(self) -> CaseVersionRead | None:
        wanted = self.case.published_version or self.case.current_version
        versions = self.case.versions or []
        return next((v for v in versions if v.number == wanted), None)

    def metrics(self) -> list[str]:
        """Headline metrics, e.g. ``accuracy 0.9120 [0.8900, 0.9310] (reviews)``."""
        from zslab.cases.model import metric_rows

        version = self.version()
        if version is None:
            return []
        out = []
        for row in metric_rows(version.results)[: self.max_metrics]:
            ci = f" [{row.low:.4f}, {row.high:.4f}]" if row.low is not None else ""
            out.append(f"{row.metric} {row.value:.4f}{ci} ({row.dataset})")
        return out

    def badge(self) -> str:
        return "✓ reproduced" if self.case.reproduced else "not reproduced yet"

    def text(self) -> str:
        case = self.case
        lines = [
            f"case {case.slug} · {case.title} / {case.title_en}",
            f"  {self.sector()} · {case.status} · {self.badge()}",
        ]
        lines += [f"  {metric}" for metric in self.metrics()]
        if self.link:
            lines.append(f"  {self.link}")
        return "\n".join(lines)

    def markdown(self) -> str:
        case = self.case
        title = f"{case.title} / {case.title_en}"
        heading = f"[{title}]({self.link})" if self.link else title
        lines = [
            f"**{heading}**  ",
            f"{self.sector()} · `{case.status}` · {self.badge()}",
        ]
        if self.metrics():
            lines.append("")
            lines += [f"- {metric}" for metric in self.metrics()]
        return "\n".join(lines)

    def _build(self) -> Any:
        import ipywidgets as w

        case = self.case
        colour = "#1b7f3b" if case.reproduced else "#777"
        rows = "".join(f"<li>{html.escape(m)}</li>" for m in self.metrics())
        title = html.escape(f"{case.title} / {case.title_en}")
        if self.link:
            title = f'<a href="{html.escape(self.link)}" target="_blank">{title}</a>'
        return w.HTML(
            f"<div><b>{title}</b><br>{html.escape(self.sector())} · "
            f"<code>{html.escape(case.status)}</code> · "
            f'<span style="color:{colour}">{html.escape(self.badge())}</span>'
            f"{f'<ul>{rows}</ul>' if rows else ''}</div>"
        )
