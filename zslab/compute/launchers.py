"""Launchers: start and stop the Dask worker that runs a granted lease's code.

The broker decides *where* a slice is; a launcher starts a ``dask worker`` there, attached to the
hub's scheduler, and stops it when the lease ends. Every launcher starts the same worker:

- named ``lease-<id>``, carrying the resource ``lease-<id>=1`` (work submitted through a lease
  asks for that resource, so it can only run there, and no other lease's work can);
- with threads and a memory limit from the slice's host CPU and memory (defaults where the
  request did not say);
- with the device environment of its slice: ``CUDA_VISIBLE_DEVICES`` (a GPU index, or a GPU or
  MIG UUID where the inventory knows them), HAMi-core's ``CUDA_DEVICE_MEMORY_LIMIT`` /
  ``CUDA_DEVICE_SM_LIMIT`` for a fractional share, ``ASCEND_RT_VISIBLE_DEVICES`` (Huawei),
  ``MLU_VISIBLE_DEVICES`` (Cambricon), ``HIP_VISIBLE_DEVICES`` (Hygon); plus ``ZSLAB_LEASE_ID``,
  ``ZSLAB_SLICE`` (the placement as JSON) and, on simulated inventories,
  ``ZSLAB_SIMULATED_DEVICES`` with accelerator variables set to hide any real device;
- preloading :mod:`zslab.compute.slice_worker`, which checks on real hardware that the worker
  sees exactly its leased devices.

:class:`LocalLauncher` (the embedded default) runs it as a subprocess on this machine.
:class:`KubernetesLauncher` (dask-kubernetes' operator) creates a one-replica
``DaskWorkerGroup`` whose pod asks for the slice as an extended resource (``nvidia.com/mig-3g.40gb:
1``) on the node the broker chose. :class:`SlurmLauncher` (dask-jobqueue) submits a batch job
with ``--gres``, the partition of the pool, and the lease's TTL as its time limit. The last two
need a cluster to run; their specs are tested here, and the README says how to deploy them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from zslab.compute.devices import find_model

__all__ = [
    "SIMULATED",
    "KubernetesLauncher",
    "Launcher",
    "LocalLauncher",
    "SlurmLauncher",
    "WorkerHandle",
    "WorkerSpec",
    "device_env",
    "kubernetes_resources",
    "make_launcher",
    "slurm_gres",
    "worker_spec",
]

SIMULATED = "ZSLAB_SIMULATED_DEVICES"
GIB = 1 << 30
MIB = 1 << 20
# Variables that select accelerators, by vendor (the catalog's spelling).
VISIBLE_DEVICES = {
    "NVIDIA": "CUDA_VISIBLE_DEVICES",
    "Huawei": "ASCEND_RT_VISIBLE_DEVICES",
    "Cambricon": "MLU_VISIBLE_DEVICES",
    "Hygon": "HIP_VISIBLE_DEVICES",
}
PRELOAD = "zslab.compute.slice_worker"


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a launcher needs to start one lease's worker."""

    lease_id: str
    scheduler: str
    nthreads: int
    memory_limit: int  # bytes
    env: Mapping[str, str]
    walltime_s: float  # the lease's remaining time: the job/pod need not outlive it
    placement: Mapping[str, Any]
    simulated: bool
    death_timeout_s: float = 60.0

    @property
    def name(self) -> str:
        return f"lease-{self.lease_id}"

    @property
    def resource(self) -> str:
        return f"lease-{self.lease_id}"

    @property
    def model(self) -> str | None:
        model = self.placement.get("model")
        return str(model) if model else None

    def worker_args(self) -> list[str]:
        """``dask worker`` options shared by every launcher (after the scheduler address)."""
        return [
            "--name",
            self.name,
            "--nthreads",
            str(self.nthreads),
            "--memory-limit",
            str(self.memory_limit),
            "--death-timeout",
            f"{self.death_timeout_s:g}",
            *self.binding_args(),
        ]

    def binding_args(self) -> list[str]:
        """The options that bind the worker to its lease: its resource and the preload."""
        return ["--resources", f"{self.resource}=1", "--preload", PRELOAD]


def worker_spec(
    lease_id: str,
    placement: Mapping[str, Any],
    scheduler: str,
    *,
    walltime_s: float,
    simulated: bool = True,
    manager_assigns_devices: bool = False,
    default_threads: int = 2,
    default_memory: int = 4 * GIB,
    device_ids: Mapping[str, Sequence[str]] | None = None,
) -> WorkerSpec:
    """The worker for a lease placed at ``placement`` (as the broker reports it).

    ``device_ids`` maps a node name to its devices' UUIDs by index (MIG instances as
    ``"<index>/<mig start>"`` keys are looked up in the same list by the launcher's inventory);
    without them, real devices are selected by index. Where a cluster manager hands the devices
    to the worker itself (a Kubernetes device plugin, Slurm's gres), ``manager_assigns_devices``
    leaves the selecting variables to it.
    """
    cpu_milli = int(placement.get("cpu_milli") or 0)
    memory_mib = int(placement.get("memory_mib") or 0)
    nthreads = max(1, cpu_milli // 1000) if cpu_milli else default_threads
    memory = memory_mib * MIB if memory_mib else default_memory
    env = {
        "ZSLAB_LEASE_ID": lease_id,
        "ZSLAB_SLICE": json.dumps(dict(placement), sort_keys=True, separators=(",", ":")),
        **(
            {}
            if manager_assigns_devices and not simulated
            else device_env(placement, simulated=simulated, device_ids=device_ids)
        ),
    }
    return WorkerSpec(
        lease_id=lease_id,
        scheduler=scheduler,
        nthreads=nthreads,
        memory_limit=memory,
        env=env,
        walltime_s=max(60.0, walltime_s),
        placement=dict(placement),
        simulated=simulated,
    )


def device_env(
    placement: Mapping[str, Any],
    *,
    simulated: bool,
    device_ids: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """Environment variables that give a process exactly the devices of ``placement``."""
    model_name = placement.get("model")
    parts: list[Mapping[str, Any]] = list(placement.get("parts") or [])
    if not model_name or not parts:
        # A CPU-only slice: hide every accelerator.
        return {variable: "" for variable in VISIBLE_DEVICES.values()}
    model = find_model(str(model_name))
    vendor = model.vendor if model is not None else "NVIDIA"
    variable = VISIBLE_DEVICES.get(vendor, "CUDA_VISIBLE_DEVICES")
    env: dict[str, str] = {"ZSLAB_DEVICE_MODEL": str(model_name)}
    if simulated:
        env[SIMULATED] = ",".join(_describe_part(str(model_name), part) for part in parts)
        for other in VISIBLE_DEVICES.values():
            env[other] = ""  # this machine's own devices are not the slice
        return env
    ids = list((device_ids or {}).get(str(placement.get("node")), ()))
    selected = []
    for part in parts:
        index = int(part["device"])
        if part.get("profile") is not None:
            # A MIG instance is addressed by its own UUID; its GPU index alone would expose
            # the whole GPU, so without UUIDs the launcher cannot honour the slice.
            key = f"{index}/{part.get('mig_start')}"
            matches = [i for i in ids if i.startswith(key + "=")]
            if not matches:
                raise ValueError(
                    f"MIG instance {part.get('profile')} at GPU {index} slot "
                    f"{part.get('mig_start')} of node {placement.get('node')}: no MIG UUID known "
                    "(the inventory must list it as '<gpu>/<start>=MIG-…')"
                )
            selected.append(matches[0].split("=", 1)[1])
        else:
            selected.append(ids[index] if index < len(ids) else str(index))
    env[variable] = ",".join(selected)
    share = [p for p in parts if 0 < int(p.get("milli") or 0) < 1000]
    if share and vendor == "NVIDIA":
        # HAMi-core (LD_PRELOAD libvgpu.so) enforces these inside the container.
        env["CUDA_DEVICE_MEMORY_LIMIT"] = f"{int(share[0].get('memory_mib') or 0)}m"
        env["CUDA_DEVICE_SM_LIMIT"] = str(max(1, int(share[0]["milli"]) // 10))
    return env


def _describe_part(model: str, part: Mapping[str, Any]) -> str:
    text = f"{model}#{part['device']}"
    if part.get("profile"):
        return f"{text}:mig-{part['profile']}@{part.get('mig_start')}"
    milli = int(part.get("milli") or 0)
    if 0 < milli < 1000:
        return f"{text}:share-{milli / 1000:g}"
    return text


# --- resource names for the cluster managers -------------------------------------------------


def kubernetes_resources(placement: Mapping[str, Any]) -> dict[str, str]:
    """Extended resources a pod requests for ``placement``.

    NVIDIA: ``nvidia.com/mig-<profile>`` (the device plugin's *mixed* MIG strategy) for MIG
    instances, ``nvidia.com/gpu`` for whole GPUs, and HAMi's ``nvidia.com/gpu`` +
    ``nvidia.com/gpumem`` (MiB) + ``nvidia.com/gpucores`` (percent) for fractional shares;
    Huawei ``huawei.com/Ascend910``, Cambricon ``cambricon.com/mlu``, Hygon ``hygon.com/dcu``.
    """
    model_name = placement.get("model")
    parts: list[Mapping[str, Any]] = list(placement.get("parts") or [])
    if not model_name or not parts:
        return {}
    model = find_model(str(model_name))
    vendor = model.vendor if model is not None else "NVIDIA"
    out: dict[str, int] = {}
    for part in parts:
        milli = int(part.get("milli") or 0)
        if part.get("profile"):
            key = f"nvidia.com/mig-{part['profile']}"
            out[key] = out.get(key, 0) + 1
        elif vendor == "NVIDIA" and 0 < milli < 1000:
            out["nvidia.com/gpu"] = out.get("nvidia.com/gpu", 0) + 1
            out["nvidia.com/gpumem"] = int(part.get("memory_mib") or 0)
            out["nvidia.com/gpucores"] = max(1, milli // 10)
        else:
            key = {
                "Huawei": "huawei.com/Ascend910",
                "Cambricon": "cambricon.com/mlu",
                "Hygon": "hygon.com/dcu",
            }.get(vendor, "nvidia.com/gpu")
            out[key] = out.get(key, 0) + 1
    return {key: str(value) for key, value in out.items()}


def slurm_gres(placement: Mapping[str, Any], *, shards_per_gpu: int = 10) -> list[str]:
    """``--gres`` values for ``placement``: ``gpu:<model>:<n>`` for whole devices,
    ``gpu:<model>_<profile>:1`` for MIG instances (the type names of ``AutoDetect=nvml``), and
    ``shard:<n>`` for fractional shares (Slurm's GPU sharding, ``shards_per_gpu`` per GPU)."""
    model_name = placement.get("model")
    parts: list[Mapping[str, Any]] = list(placement.get("parts") or [])
    if not model_name or not parts:
        return []
    short = str(model_name).split("-")[0]
    counts: dict[str, int] = {}
    for part in parts:
        milli = int(part.get("milli") or 0)
        if part.get("profile"):
            key = f"gpu:{short}_{part['profile']}"
            counts[key] = counts.get(key, 0) + 1
        elif 0 < milli < 1000:
            counts["shard"] = counts.get("shard", 0) + max(
                1, math.ceil(milli / 1000 * shards_per_gpu)
            )
        else:
            key = f"gpu:{short}"
            counts[key] = counts.get(key, 0) + 1
    return [f"{key}:{count}" for key, count in counts.items()]


# --- launchers -----------------------------------------------------------------------------


@dataclass
class WorkerHandle:
    """A started worker: which launcher, and its process id, pod or job id."""

    lease_id: str
    launcher: str
    ref: str  # pid, DaskWorkerGroup name, or Slurm job id
    started_at: float = field(default_factory=time.time)
    log: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Launcher(Protocol):
    """Starts and stops lease workers. ``poll`` returns an exit code once the worker has ended
    (any code when it is known to be gone), None while it runs or when that cannot be told.
    ``assigns_devices``: the cluster manager gives the worker its devices (device plugin, gres)."""

    kind: ClassVar[str]
    assigns_devices: ClassVar[bool]

    def start(self, spec: WorkerSpec) -> WorkerHandle: ...

    def poll(self, handle: WorkerHandle) -> int | None: ...

    def stop(self, handle: WorkerHandle, *, timeout_s: float = 10.0) -> None: ...


class LocalLauncher:
    """``dask worker`` subprocesses on this machine (the embedded default).

    The worker runs without a Nanny: the hub is its nanny, so that a worker that dies is seen
    (and restarted once, or its lease failed) by the hub rather than silently respawned.
    """

    kind: ClassVar[str] = "local"
    assigns_devices: ClassVar[bool] = False

    def __init__(self, log_dir: Path, *, python: str = sys.executable) -> None:
        self.log_dir = Path(log_dir)
        self.python = python
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def command(self, spec: WorkerSpec) -> list[str]:
        return [
            self.python,
            "-m",
            "distributed.cli.dask_worker",
            spec.scheduler,
            *spec.worker_args(),
            "--no-nanny",
            "--no-dashboard",
            "--local-directory",
            str(self.log_dir / spec.name),
        ]

    def start(self, spec: WorkerSpec) -> WorkerHandle:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                self.command(spec),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the hub's terminal is the hub's alone
            )
        self._procs[str(proc.pid)] = proc
        return WorkerHandle(spec.lease_id, self.kind, str(proc.pid), log=str(log_path))

    def poll(self, handle: WorkerHandle) -> int | None:
        proc = self._procs.get(handle.ref)
        if proc is None:
            return _pid_gone(int(handle.ref))
        return proc.poll()

    def stop(self, handle: WorkerHandle, *, timeout_s: float = 10.0) -> None:
        proc = self._procs.pop(handle.ref, None)
        pid = int(handle.ref)
        if proc is None:  # adopted from an earlier hub process: signal by pid
            if _pid_gone(pid) is None:
                _signal(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline and _pid_gone(pid) is None:
                    time.sleep(0.05)
                _signal(pid, signal.SIGKILL)
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _pid_gone(pid: int) -> int | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return -1
    except PermissionError:
        return None
    return None


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


class KubernetesClient(Protocol):
    """The three calls the Kubernetes launcher makes (kr8s by default)."""

    def create(self, manifest: dict[str, Any]) -> None: ...

    def delete(self, kind: str, name: str, namespace: str) -> None: ...

    def exists(self, kind: str, name: str, namespace: str) -> bool: ...


class KubernetesLauncher:
    """A one-replica ``DaskWorkerGroup`` of a dask-kubernetes ``DaskCluster`` per lease.

    The cluster (``cluster``: its scheduler is the hub's) is deployed once with the
    dask-kubernetes operator; each lease adds a worker group whose pod requests the slice
    (:func:`kubernetes_resources`), is pinned to the broker's node
    (``kubernetes.io/hostname``), tolerates the accelerator taints and carries the lease's
    environment and labels.
    """

    kind: ClassVar[str] = "kubernetes"
    assigns_devices: ClassVar[bool] = True

    def __init__(
        self,
        cluster: str,
        *,
        namespace: str = "default",
        image: str = "ghcr.io/dask/dask:latest",
        client: KubernetesClient | None = None,
        node_label: str = "kubernetes.io/hostname",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.image = image
        self.node_label = node_label
        self.extra_env = dict(extra_env or {})
        self._client = client

    @property
    def client(self) -> KubernetesClient:
        if self._client is None:
            self._client = Kr8sClient()
        return self._client

    def manifest(self, spec: WorkerSpec) -> dict[str, Any]:
        from dask_kubernetes.operator import make_worker_spec

        extended = kubernetes_resources(spec.placement)
        cpu = f"{spec.nthreads}"
        memory = f"{spec.memory_limit // MIB}Mi"
        worker = make_worker_spec(
            image=self.image,
            n_workers=1,
            resources={
                "requests": {"cpu": cpu, "memory": memory, **extended},
                "limits": {"memory": memory, **extended},
            },
            env=[{"name": k, "value": v} for k, v in {**self.extra_env, **spec.env}.items()],
            worker_command="dask-worker",
        )
        container = worker["spec"]["containers"][0]
        # The operator sets DASK_SCHEDULER_ADDRESS; the worker takes the rest of our options.
        container["args"] = ["dask-worker", *spec.worker_args(), "--dashboard-address", "8788"]
        pod = worker["spec"]
        if spec.placement.get("node"):
            pod["nodeSelector"] = {self.node_label: str(spec.placement["node"])}
        pod["tolerations"] = [
            {"key": key, "operator": "Exists", "effect": "NoSchedule"}
            for key in sorted({_TAINTS[k.split("/")[0]] for k in extended})
        ]
        pod["activeDeadlineSeconds"] = int(spec.walltime_s)
        pod["restartPolicy"] = "Never"  # the hub restarts (once) or fails the lease
        labels = {"zslab.io/lease": spec.lease_id, "zslab.io/pool": str(spec.placement.get("pool"))}
        return {
            "apiVersion": "kubernetes.dask.org/v1",
            "kind": "DaskWorkerGroup",
            "metadata": {
                "name": f"{self.cluster}-{spec.name}",
                "namespace": self.namespace,
                "labels": labels,
            },
            "spec": {"cluster": self.cluster, "worker": worker},
        }

    def start(self, spec: WorkerSpec) -> WorkerHandle:
        manifest = self.manifest(spec)
        self.client.create(manifest)
        return WorkerHandle(spec.lease_id, self.kind, manifest["metadata"]["name"])

    def poll(self, handle: WorkerHandle) -> int | None:
        return None if self.client.exists("DaskWorkerGroup", handle.ref, self.namespace) else -1

    def stop(self, handle: WorkerHandle, *, timeout_s: float = 10.0) -> None:
        self.client.delete("DaskWorkerGroup", handle.ref, self.namespace)


# The taint each vendor's accelerator nodes commonly carry, by resource domain.
_TAINTS = {
    "nvidia.com": "nvidia.com/gpu",
    "huawei.com": "huawei.com/Ascend910",
    "cambricon.com": "cambricon.com/mlu",
    "hygon.com": "hygon.com/dcu",
}


class Kr8sClient:
    """:class:`KubernetesClient` over kr8s (the client dask-kubernetes uses)."""

    def create(self, manifest: dict[str, Any]) -> None:
        from dask_kubernetes.operator._objects import DaskWorkerGroup

        asyncio.run(DaskWorkerGroup(manifest).create())

    def delete(self, kind: str, name: str, namespace: str) -> None:
        import kr8s

        for obj in kr8s.get(kind, name, namespace=namespace):
            obj.delete()

    def exists(self, kind: str, name: str, namespace: str) -> bool:
        import kr8s

        return bool(kr8s.get(kind, name, namespace=namespace))


class SlurmLauncher:
    """One Slurm batch job per lease, written by dask-jobqueue's ``SLURMJob``.

    ``partitions`` maps a pool to its partition (default: the pool's name); the job is pinned
    to the broker's node (``--nodelist``), asks for the slice with ``--gres`` (see
    :func:`slurm_gres`) and for the lease's remaining time as its limit (``-t``).
    """

    kind: ClassVar[str] = "slurm"
    assigns_devices: ClassVar[bool] = True

    def __init__(
        self,
        *,
        partitions: Mapping[str, str] | None = None,
        account: str | None = None,
        python: str = "python3",
        shards_per_gpu: int = 10,
        prologue: Sequence[str] = (),
        log_dir: Path | None = None,
        runner: Callable[[list[str]], str] | None = None,
    ) -> None:
        self.partitions = dict(partitions or {})
        self.account = account
        self.python = python
        self.shards_per_gpu = shards_per_gpu
        self.prologue = list(prologue)
        self.log_dir = log_dir
        self._run = runner or _run_command

    def job(self, spec: WorkerSpec) -> Any:
        from dask_jobqueue.slurm import SLURMJob

        pool = str(spec.placement.get("pool") or "")
        gres = slurm_gres(spec.placement, shards_per_gpu=self.shards_per_gpu)
        directives = [f"--gres={','.join(gres)}"] if gres else []
        if spec.placement.get("node"):
            directives.append(f"--nodelist={spec.placement['node']}")
        exports = [f"export {key}={shlex.quote(value)}" for key, value in spec.env.items()]
        return SLURMJob(
            scheduler=spec.scheduler,
            name=spec.name,
            queue=self.partitions.get(pool, pool) or None,
            account=self.account,
            walltime=_hms(spec.walltime_s),
            cores=spec.nthreads,
            processes=1,
            memory=f"{spec.memory_limit // MIB}MiB",
            nanny=False,
            job_name=f"zslab-{spec.name}",
            job_extra_directives=directives,
            job_script_prologue=[*self.prologue, *exports],
            death_timeout=spec.death_timeout_s,
            worker_extra_args=spec.binding_args(),
            log_directory=str(self.log_dir) if self.log_dir else None,
            python=self.python,
        )

    def script(self, spec: WorkerSpec) -> str:
        return str(self.job(spec).job_script())

    def start(self, spec: WorkerSpec) -> WorkerHandle:
        import tempfile

        script = self.script(spec)
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
            handle.write(script)
        try:
            out = self._run(["sbatch", "--parsable", handle.name])
        finally:
            os.unlink(handle.name)
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise RuntimeError(f"sbatch answered {out.strip()!r}, not a job id")
        return WorkerHandle(spec.lease_id, self.kind, job_id, detail={"script": script})

    def poll(self, handle: WorkerHandle) -> int | None:
        state = self._run(["squeue", "--noheader", "--jobs", handle.ref, "--format=%T"]).strip()
        if state in {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED"}:
            return None
        return 0 if state in {"", "COMPLETED"} else 1

    def stop(self, handle: WorkerHandle, *, timeout_s: float = 10.0) -> None:
        self._run(["scancel", "--signal=TERM", "--full", handle.ref])


def _hms(seconds: float) -> str:
    total = math.ceil(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _run_command(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def make_launcher(
    kind: str, *, log_dir: Path, options: Mapping[str, Any] | None = None
) -> Launcher:
    """A launcher by name (``local``, ``kubernetes``, ``slurm``) with its options."""
    options = dict(options or {})
    if kind == "local":
        return LocalLauncher(log_dir, **options)
    if kind == "kubernetes":
        if "cluster" not in options:
            raise ValueError("the kubernetes launcher needs options.cluster (a DaskCluster name)")
        return KubernetesLauncher(**options)
    if kind == "slurm":
        return SlurmLauncher(log_dir=log_dir, **options)
    raise ValueError(f"launcher {kind!r}: use local, kubernetes or slurm")
