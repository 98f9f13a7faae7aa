"""Templates: papermill notebooks with a ``parameters`` cell, their registry, runner and engine.

A template is a notebook that reads top to bottom: a first markdown cell with a ``# title``
and a description, a code cell tagged ``parameters`` (``name = default  # help``), and cells
that call :func:`zslab.record.record` with their results. The built-in ones live in the repo's
``templates/`` folder (installed as ``zslab/_templates``)::

    from zslab.templates import list_templates, run_template

    [t.name for t in list_templates()]     # ['corpus_curation', 'evaluate', 'finetune', ...]
    result = run_template("finetune", {"max_steps": "50"}, output_dir="runs/ft")
    result.status, result.metrics["eval_accuracy"], result.executed_notebook_path

:func:`run_template` reads straight down: resolve → validate → (hub: create the run) →
execute with papermill in ``output_dir`` (or on a lease's worker) → read the records →
(hub: upload ``executed.ipynb``, set status, metrics and provenance) → :class:`RunResult`.

**Failures.** A failing cell never loses the executed notebook: papermill writes it, with the
error at the failing cell, before raising. The runner catches that error and returns a result
with ``status="failed"`` and ``error`` naming the cell; ``raise_on_error=True`` re-raises it
after everything is recorded. Bad parameters raise ``ValueError`` before anything runs.

**The papermill engine.** ``papermill in.ipynb out.ipynb --engine zslab`` executes like the
default engine; with ``ZSLAB_RECORD_RUN=1`` and a reachable hub (``ZSLAB_URL``/``ZSLAB_TOKEN``
or the embedded hub's runtime file) it also records the run. Recording never fails the
execution: a problem is logged as a warning.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zslab.record import read_records

__all__ = [
    "NOTEBOOK_MEDIA_TYPE",
    "RunResult",
    "TemplateInfo",
    "TemplateParameter",
    "ZslabEngine",
    "get_template",
    "list_templates",
    "run_template",
    "template_dirs",
    "template_sha256",
    "validate_parameters",
]

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    ZslabEngine: type  # built on first access, see __getattr__ below

NOTEBOOK_MEDIA_TYPE = "application/x-ipynb+json"
EXECUTED_NAME = "executed.ipynb"
RUN_DIR_ENV = "ZSLAB_RUN_DIR"
RECORD_RUN_ENV = "ZSLAB_RECORD_RUN"
PROVENANCE_PACKAGES = ("zslab", "torch", "transformers", "papermill", "pyarrow")
# Keys a notebook may record that identify its data and model; copied into provenance.
PROVENANCE_RECORD_KEYS = ("data_card_sha256", "model_sha256")
_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}
_TYPES: dict[str, type] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "list": list,
    "dict": dict,
}


# --- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateParameter:
    """One line of a template's ``parameters`` cell: ``name = default  # help``.

    ``type`` is the default's type name (``int``, ``float``, ``bool``, ``str``, ``list``,
    ``dict``; ``None`` when the default is ``None`` or not a literal, which accepts anything).
    """

    name: str
    type: str
    default: Any
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


@dataclass(frozen=True)
class TemplateInfo:
    """A template notebook as the registry describes it."""

    name: str
    path: Path
    title: str
    description: str
    parameters: list[TemplateParameter]
    sha256: str

    def parameter(self, name: str) -> TemplateParameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "title": self.title,
            "description": self.description,
            "parameters": [p.to_json() for p in self.parameters],
            "sha256": self.sha256,
        }


def template_dirs() -> list[Path]:
    """Where templates are looked up, in order: the folders in ``ZSLAB_TEMPLATES`` (separated
    by ``os.pathsep``; a team's own templates), the repo's ``templates/`` (an editable install
    or a checkout) and the copy installed inside the package (``zslab/_templates``)."""
    package = Path(__file__).resolve().parent
    extra = [Path(p).expanduser() for p in os.environ.get("ZSLAB_TEMPLATES", "").split(os.pathsep)]
    candidates = [*(p for p in extra if str(p) not in ("", ".")), package.parent / "templates"]
    candidates.append(package / "_templates")
    return [folder for folder in candidates if folder.is_dir()]


def list_templates() -> list[TemplateInfo]:
    """Every template, by name; a name found in an earlier folder hides later ones."""
    found: dict[str, Path] = {}
    for folder in template_dirs():
        for path in sorted(folder.glob("*.ipynb")):
            found.setdefault(path.stem, path)
    return [describe_template(path) for _, path in sorted(found.items())]


def get_template(name: str) -> TemplateInfo:
    """The template called ``name``, or the notebook at that path (``*.ipynb``)."""
    path = Path(name).expanduser()
    if path.suffix == ".ipynb" and path.is_file():
        return describe_template(path)
    for folder in template_dirs():
        candidate = folder / f"{name}.ipynb"
        if candidate.is_file():
            return describe_template(candidate)
    names = ", ".join(t.name for t in list_templates()) or "(none installed)"
    raise ValueError(f"no template named {name!r}; the templates are: {names}")


def template_sha256(template: str | os.PathLike[str] | TemplateInfo) -> str:
    """SHA-256 of the template's notebook file (a name, a path or a :class:`TemplateInfo`)."""
    if isinstance(template, TemplateInfo):
        return template.sha256
    path = Path(template)
    if not (path.suffix == ".ipynb" and path.is_file()):
        path = get_template(str(template)).path
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe_template(path: str | os.PathLike[str]) -> TemplateInfo:
    """Read a notebook's title, description, parameters and hash."""
    import papermill

    source = Path(path)
    data = source.read_bytes()
    nb = json.loads(data)
    title, description = _title_and_description(nb)
    parameters = [_parameter(item) for item in papermill.inspect_notebook(str(source)).values()]
    return TemplateInfo(
        name=source.stem,
        path=source,
        title=title or source.stem,
        description=description,
        parameters=parameters,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _title_and_description(nb: Mapping[str, Any]) -> tuple[str, str]:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", ""))
        lines = text.strip().splitlines()
        if not lines:
            continue
        first = lines[0].lstrip("#").strip()
        return first, "\n".join(lines[1:]).strip()
    return "", ""


def _parameter(item: Mapping[str, Any]) -> TemplateParameter:
    source = str(item.get("default", ""))
    try:
        default = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        default = source  # an expression: shown as written, accepts anything
        kind = "None"
    else:
        kind = "None" if default is None else type(default).__name__
        if kind not in _TYPES:
            kind = "None"
    hint = str(item.get("inferred_type_name") or "None")
    if kind == "None" and hint in _TYPES and default is not None:
        kind = hint
    return TemplateParameter(
        name=str(item["name"]), type=kind, default=default, help=str(item.get("help") or "")
    )


# --- parameters ------------------------------------------------------------------------------


def validate_parameters(
    template: str | TemplateInfo, parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Check names against the template's ``parameters`` cell and coerce values to the type of
    each default; returns the coerced parameters (only those given).

    Strings, as the CLI passes them, are parsed: ``"3"`` → 3, ``"true"`` → True, JSON for
    lists and dicts. An unknown name or a value that does not fit raises ``ValueError``
    naming the parameter.

    Example::

        validate_parameters("finetune", {"max_steps": "20", "lr": 1e-3})  # {'max_steps': 20, ...}
    """
    info = template if isinstance(template, TemplateInfo) else get_template(template)
    given = dict(parameters or {})
    known = {p.name: p for p in info.parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
            f"template {info.name!r} has no parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or '(none)'}"
        )
    return {name: _coerce(known[name], value) for name, value in given.items()}


def _coerce(parameter: TemplateParameter, value: Any) -> Any:
    kind = parameter.type
    try:
        return _convert(kind, value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"parameter {parameter.name!r} of type {kind} cannot take {value!r} ({exc}); "
            f"the default is {parameter.default!r}"
        ) from exc


def _convert(kind: str, value: Any) -> Any:
    if kind == "None":
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return json.loads(value)
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("expected true or false")
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError("expected an integer, not a bool")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip().replace("_", ""))
        raise TypeError("expected an integer")
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError("expected a number, not a bool")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
        raise TypeError("expected a number")
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        raise TypeError("expected a string")
    if kind in ("list", "dict"):
        expected = _TYPES[kind]
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, tuple) and kind == "list":
            value = list(value)
        if not isinstance(value, expected):
            raise TypeError(f"expected a JSON {'array' if kind == 'list' else 'object'}")
        return value
    raise TypeError(f"unknown parameter type {kind}")  # pragma: no cover - _parameter guards


# --- running ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What :func:`run_template` returns.

    ``status`` is ``"completed"`` or ``"failed"``; ``metrics`` holds everything the notebook
    recorded with :func:`zslab.record.record` (later keys win); ``error`` names the failing
    cell; ``run_id`` is the hub's run when one was recorded.
    """

    status: str
    metrics: dict[str, Any]
    executed_notebook_path: Path | None
    error: str | None
    seconds: float
    template: str
    template_sha256: str
    parameters: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    output_dir: Path | None = None
    run_id: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def run_template(
    name_or_path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    lease: Any = None,
    lab: Any = None,
    project: str | None = None,
    kernel_name: str = "python3",
    timeout: float | None = None,
    progress: bool = False,
    raise_on_error: bool = False,
    on_started: Callable[[str | None], None] | None = None,
) -> RunResult:
    """Execute a template with ``parameters`` and return its :class:`RunResult`.

    Locally the notebook runs with papermill in ``output_dir`` (default:
    ``$ZSLAB_HOME/runs/<template>-<time>-<id>``), which it finds as ``$ZSLAB_RUN_DIR``; the
    executed copy is ``output_dir/executed.ipynb``. With a ``lease`` (:class:`zslab.client.Lease`)
    it runs on the lease's worker instead and only the executed notebook comes back. With a
    ``lab`` (:class:`zslab.client.Lab`) the run is recorded in the hub: created before it
    starts, then given the executed notebook, its status, metrics and provenance.

    A failing cell gives ``status="failed"`` (the executed notebook is kept, the error at the
    failing cell); ``raise_on_error=True`` re-raises the error after that. ``timeout`` limits
    each cell (locally) or the whole run (on a lease), in seconds. ``on_started`` is called
    with the hub's run id (None without ``lab``) once the run is recorded, before it executes.
    """
    info = get_template(os.fspath(name_or_path))
    params = validate_parameters(info, parameters)
    out = Path(output_dir) if output_dir is not None else _default_run_dir(info.name)
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    executed = out / EXECUTED_NAME
    provenance = _provenance(info.sha256, params, {})
    run_id = None
    if lab is not None:
        run_id = _hub_start(
            lab,
            info.name,
            params,
            lease_id=getattr(lease, "id", None),
            project=project,
            template_sha256=info.sha256,
            provenance=provenance,
        )
    if on_started is not None:
        on_started(run_id)

    started = time.perf_counter()
    error: str | None = None
    failure: BaseException | None = None
    try:
        if lease is not None:
            lease.run_notebook(
                info.path, params, output_path=executed, kernel_name=kernel_name, timeout=timeout
            )
        else:
            _execute_locally(info.path, executed, params, out, kernel_name, timeout, progress)
    except Exception as exc:
        failure = exc
        error = _describe_error(exc)
    seconds = time.perf_counter() - started

    metrics = read_records(executed) if executed.is_file() else {}
    provenance = _provenance(info.sha256, params, metrics)
    status = "failed" if failure is not None else "completed"
    if lab is not None and run_id is not None:
        _hub_finish(
            lab,
            run_id,
            status=status,
            metrics=metrics,
            provenance=provenance,
            error=error,
            notebook=executed if executed.is_file() else None,
        )
    result = RunResult(
        status=status,
        metrics=metrics,
        executed_notebook_path=executed if executed.is_file() else None,
        error=error,
        seconds=seconds,
        template=info.name,
        template_sha256=info.sha256,
        parameters=params,
        provenance=provenance,
        output_dir=out,
        run_id=run_id,
    )
    if failure is not None:
        log.warning("template %s failed: %s", info.name, error)
        if raise_on_error:
            raise failure
    return result


def _execute_locally(
    source: Path,
    executed: Path,
    params: dict[str, Any],
    run_dir: Path,
    kernel_name: str,
    timeout: float | None,
    progress: bool,
) -> None:
    import papermill

    engine_kwargs: dict[str, Any] = {}
    if timeout is not None:
        engine_kwargs["execution_timeout"] = timeout
    # The kernel inherits this process's environment; that is how it learns its run folder.
    with _environment({RUN_DIR_ENV: str(run_dir)}):
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters=params,
            kernel_name=kernel_name,
            cwd=str(run_dir),
            progress_bar=progress,
            **engine_kwargs,
        )


def _describe_error(exc: BaseException) -> str:
    from papermill import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue} (cell {exc.cell_index}, In [{exc.exec_count}])"
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _default_run_dir(name: str) -> Path:
    from zslab.config import load_settings

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return load_settings().home / "runs" / f"{name}-{stamp}-{uuid.uuid4().hex[:6]}"


def _provenance(
    sha256: str, params: Mapping[str, Any], records: Mapping[str, Any]
) -> dict[str, Any]:
    provenance: dict[str, Any] = {
        "template_sha256": sha256,
        "parameters": dict(params),
        "packages": _package_versions(),
    }
    for key in PROVENANCE_RECORD_KEYS:
        if key in records:
            provenance[key] = records[key]
    return provenance


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# --- the hub's record of a run ---------------------------------------------------------------


def _hub_start(
    lab: Any,
    template: str,
    params: Mapping[str, Any],
    *,
    lease_id: str | None,
    project: str | None,
    template_sha256: str,
    provenance: Mapping[str, Any],
) -> str:
    """Create the hub's run before executing, so it shows while it runs; returns its id."""
    if not hasattr(lab, "runs"):
        raise TypeError(f"{type(lab).__name__} has no runs API; update zslab, or run without lab=")
    run = lab.runs.create(
        template,
        parameters=dict(params),
        lease=lease_id,
        project=project,
        template_sha256=template_sha256,
        provenance=dict(provenance),
    )
    return str(run.id)


def _hub_finish(
    lab: Any,
    run_id: str,
    *,
    status: str,
    metrics: Mapping[str, Any],
    provenance: Mapping[str, Any],
    error: str | None,
    notebook: Path | bytes | None,
) -> None:
    """Upload the executed notebook, then set the final status. A hub problem here is logged,
    not raised: the run itself has finished and its notebook is on disk."""
    try:
        if notebook is not None:
            lab.runs.upload(run_id, EXECUTED_NAME, notebook, media_type=NOTEBOOK_MEDIA_TYPE)
        lab.runs.update(
            run_id,
            status=status,
            metrics=dict(metrics),
            provenance=dict(provenance),
            error=error,
        )
    except Exception as exc:
        log.warning("recording run %s in the hub failed: %s", run_id, exc)


# --- the papermill engine --------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    # papermill loads its entry points (this module's ZslabEngine) while ``papermill.engines``
    # is being imported, so the engine class is built on first access, not at import time:
    # importing papermill here at the top would be a circular import.
    if name == "ZslabEngine":
        engine = globals().get(name) or _engine_class()
        globals()[name] = engine
        return engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _engine_class() -> type:
    from papermill.engines import NBClientEngine

    class ZslabEngine(NBClientEngine):
        """papermill's default (nbclient) engine that also records the run in a zslab hub.

        ``papermill in.ipynb out.ipynb --engine zslab`` (registered through the
        ``papermill.engine`` entry point). Recording happens only with ``ZSLAB_RECORD_RUN=1``
        and a hub that :func:`zslab.client.connect` finds without starting one; it never fails
        the execution.
        """

        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            executed = super().execute_notebook(nb, kernel_name, *args, **kwargs)
            if os.environ.get(RECORD_RUN_ENV) == "1":
                try:
                    _record_engine_run(
                        executed, kwargs.get("input_path"), time.perf_counter() - started
                    )
                except Exception as exc:
                    log.warning("zslab engine: recording the run failed: %s", exc)
            return executed

    ZslabEngine.__module__ = __name__
    ZslabEngine.__qualname__ = "ZslabEngine"
    return ZslabEngine


def _record_engine_run(nb: Any, input_path: str | None, seconds: float) -> None:
    import nbformat

    from zslab.client import connect

    params = dict(nb.get("metadata", {}).get("papermill", {}).get("parameters", {}) or {})
    source = Path(input_path) if input_path else None
    sha256 = (
        hashlib.sha256(source.read_bytes()).hexdigest()
        if source is not None and source.is_file()
        else ""
    )
    name = source.stem if source is not None else "notebook"
    metrics = read_records(nb)
    failed = [
        output
        for cell in nb.get("cells", [])
        for output in cell.get("outputs", []) or []
        if output.get("output_type") == "error"
    ]
    error = f"{failed[0].get('ename')}: {failed[0].get('evalue')}" if failed else None
    provenance = _provenance(sha256, params, metrics)
    provenance["seconds"] = seconds
    with connect(start=False) as lab:
        run_id = _hub_start(
            lab,
            name,
            params,
            lease_id=None,
            project=os.environ.get("ZSLAB_PROJECT"),
            template_sha256=sha256,
            provenance=provenance,
        )
        _hub_finish(
            lab,
            run_id,
            status="failed" if failed else "completed",
            metrics=metrics,
            provenance=provenance,
            error=error,
            notebook=nbformat.writes(nb).encode("utf-8"),
        )
