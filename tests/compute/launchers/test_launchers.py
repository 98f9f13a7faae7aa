"""What each launcher asks its cluster manager for: device variables, pod specs, job scripts.

Kubernetes and Slurm are not reachable here, so their boundary is replaced: the Kubernetes
client by an in-memory one that records manifests, Slurm's ``sbatch``/``squeue``/``scancel``
by small scripts on ``PATH`` that record their arguments and the submitted script.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from zslab.compute.launchers import (
    KubernetesLauncher,
    LocalLauncher,
    SlurmLauncher,
    device_env,
    kubernetes_resources,
    make_launcher,
    slurm_gres,
    worker_spec,
)

SCHEDULER = "tcp://10.1.2.3:8786"


def placement(
    model: str | None, *parts: dict[str, Any], node: str = "n1", pool: str = "p1"
) -> dict[str, Any]:
    return {
        "node": node,
        "site": "pudong",
        "pool": pool,
        "model": model,
        "parts": list(parts),
        "cpu_milli": 8000,
        "memory_mib": 32768,
    }


MIG = placement("h100-80gb", {"device": 2, "mig_start": 4, "profile": "3g.40gb"}, pool="h100")
SHARE = placement("t4", {"device": 1, "milli": 250, "memory_mib": 4096}, pool="t4")
MULTI = placement("a100-80gb", *({"device": i} for i in range(4)), pool="a100")
NPU = placement("ascend910b", {"device": 0}, {"device": 1}, pool="npu")
CPU_ONLY = placement(None)


# --- device variables -------------------------------------------------------------------------


def test_a_simulated_slice_hides_real_devices_and_names_its_own() -> None:
    env = device_env(MIG, simulated=True)

    assert env["ZSLAB_SIMULATED_DEVICES"] == "h100-80gb#2:mig-3g.40gb@4"
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["ASCEND_RT_VISIBLE_DEVICES"] == ""
    assert device_env(SHARE, simulated=True)["ZSLAB_SIMULATED_DEVICES"] == "t4#1:share-0.25"


def test_real_devices_are_selected_by_the_vendors_variable() -> None:
    assert device_env(MULTI, simulated=False)["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    npu = device_env(NPU, simulated=False)
    assert npu["ASCEND_RT_VISIBLE_DEVICES"] == "0,1" and "CUDA_VISIBLE_DEVICES" not in npu
    ids = {"n1": ["GPU-aaa", "GPU-bbb", "GPU-ccc", "GPU-ddd"]}
    assert device_env(MULTI, simulated=False, device_ids=ids)["CUDA_VISIBLE_DEVICES"] == (
        "GPU-aaa,GPU-bbb,GPU-ccc,GPU-ddd"
    )


def test_a_real_share_gets_hami_limits() -> None:
    env = device_env(SHARE, simulated=False)

    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    assert env["CUDA_DEVICE_MEMORY_LIMIT"] == "4096m"
    assert env["CUDA_DEVICE_SM_LIMIT"] == "25"


def test_a_real_mig_instance_needs_its_uuid() -> None:
    with pytest.raises(ValueError, match="no MIG UUID known"):
        device_env(MIG, simulated=False)

    env = device_env(MIG, simulated=False, device_ids={"n1": ["2/4=MIG-1234"]})
    assert env["CUDA_VISIBLE_DEVICES"] == "MIG-1234"


def test_a_cpu_only_slice_sees_no_accelerator() -> None:
    env = device_env(CPU_ONLY, simulated=False)

    assert set(env.values()) == {""}
    assert "CUDA_VISIBLE_DEVICES" in env and "HIP_VISIBLE_DEVICES" in env


def test_the_worker_spec_takes_threads_and_memory_from_the_slice_or_defaults() -> None:
    spec = worker_spec("L1", MIG, SCHEDULER, walltime_s=30)
    assert (spec.nthreads, spec.memory_limit) == (8, 32768 << 20)
    assert spec.walltime_s == 60  # never shorter than a minute
    bare = worker_spec("L2", {**MIG, "cpu_milli": 0, "memory_mib": 0}, SCHEDULER, walltime_s=600)
    assert (bare.nthreads, bare.memory_limit) == (2, 4 << 30)
    args = spec.worker_args()
    assert args[args.index("--resources") + 1] == "lease-L1=1"
    assert args[args.index("--name") + 1] == "lease-L1"
    assert spec.env["ZSLAB_LEASE_ID"] == "L1"


def test_a_cluster_manager_that_assigns_devices_gets_no_selecting_variables() -> None:
    spec = worker_spec(
        "L", MULTI, SCHEDULER, walltime_s=600, simulated=False, manager_assigns_devices=True
    )

    assert "CUDA_VISIBLE_DEVICES" not in spec.env
    assert spec.env["ZSLAB_LEASE_ID"] == "L"


# --- Kubernetes ----------------------------------------------------------------------------


def test_kubernetes_resources_for_mig_shares_whole_and_domestic_devices() -> None:
    assert kubernetes_resources(MIG) == {"nvidia.com/mig-3g.40gb": "1"}
    assert kubernetes_resources(SHARE) == {
        "nvidia.com/gpu": "1",
        "nvidia.com/gpumem": "4096",
        "nvidia.com/gpucores": "25",
    }
    assert kubernetes_resources(MULTI) == {"nvidia.com/gpu": "4"}
    assert kubernetes_resources(NPU) == {"huawei.com/Ascend910": "2"}
    assert kubernetes_resources(CPU_ONLY) == {}


class FakeKubernetes:
    """The Kubernetes API as far as the launcher uses it, in memory."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    def create(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        key = (manifest["kind"], meta["name"], meta["namespace"])
        assert key not in self.objects, "created twice"
        self.objects[key] = manifest

    def delete(self, kind: str, name: str, namespace: str) -> None:
        self.objects.pop((kind, name, namespace), None)

    def exists(self, kind: str, name: str, namespace: str) -> bool:
        return (kind, name, namespace) in self.objects


@pytest.mark.parametrize(
    ("where", "extended", "toleration"),
    [
        (MIG, {"nvidia.com/mig-3g.40gb": "1"}, "nvidia.com/gpu"),
        (SHARE, {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "4096"}, "nvidia.com/gpu"),
        (MULTI, {"nvidia.com/gpu": "4"}, "nvidia.com/gpu"),
        (NPU, {"huawei.com/Ascend910": "2"}, "huawei.com/Ascend910"),
    ],
    ids=["mig", "share", "multi-gpu", "npu"],
)
def test_the_kubernetes_launcher_adds_a_worker_group_asking_for_the_slice(
    where: dict[str, Any], extended: dict[str, str], toleration: str
) -> None:
    api = FakeKubernetes()
    launcher = KubernetesLauncher("zslab", namespace="lab", image="registry/zslab:1", client=api)
    spec = worker_spec(
        "L7", where, SCHEDULER, walltime_s=7200, simulated=False, manager_assigns_devices=True
    )

    handle = launcher.start(spec)

    manifest = api.objects[("DaskWorkerGroup", "zslab-lease-L7", "lab")]
    assert manifest["apiVersion"] == "kubernetes.dask.org/v1"
    assert manifest["spec"]["cluster"] == "zslab" and manifest["spec"]["worker"]["replicas"] == 1
    pod = manifest["spec"]["worker"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry/zslab:1"
    for key, value in extended.items():
        assert container["resources"]["requests"][key] == value
        assert container["resources"]["limits"][key] == value
    assert container["resources"]["requests"]["cpu"] == "8"
    args = container["args"]
    assert args[args.index("--resources") + 1] == "lease-L7=1"
    assert args[args.index("--name") + 1] == "lease-L7"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ZSLAB_LEASE_ID"] == "L7" and "CUDA_VISIBLE_DEVICES" not in env
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "n1"}
    assert [t["key"] for t in pod["tolerations"]] == [toleration]
    assert pod["activeDeadlineSeconds"] == 7200 and pod["restartPolicy"] == "Never"
    assert manifest["metadata"]["labels"]["zslab.io/lease"] == "L7"

    assert launcher.poll(handle) is None
    launcher.stop(handle)
    assert launcher.poll(handle) == -1 and not api.objects


# --- Slurm ---------------------------------------------------------------------------------


def test_slurm_gres_for_mig_shares_and_whole_devices() -> None:
    assert slurm_gres(MIG) == ["gpu:h100_3g.40gb:1"]
    assert slurm_gres(SHARE) == ["shard:3"]  # a quarter of ten shards, rounded up
    assert slurm_gres(SHARE, shards_per_gpu=4) == ["shard:1"]
    assert slurm_gres(MULTI) == ["gpu:a100:4"]
    assert slurm_gres(CPU_ONLY) == []


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``sbatch``, ``squeue`` and ``scancel`` that log their calls (and the script) to files."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    scripts = {
        "sbatch": 'echo "sbatch $*" >> {log}; cp "${{@: -1}}" {dir}/submitted.sh\n'
        'echo "4242;cluster"',
        "squeue": 'echo "squeue $*" >> {log}\n'
        'if [ -e {dir}/cancelled ]; then echo ""; else echo RUNNING; fi',
        "scancel": 'echo "scancel $*" >> {log}; touch {dir}/cancelled',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body.format(log=log, dir=tmp_path) + "\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


@pytest.mark.parametrize(
    ("where", "gres", "partition"),
    [
        (MIG, "#SBATCH --gres=gpu:h100_3g.40gb:1", "gpu-h100"),
        (SHARE, "#SBATCH --gres=shard:3", "t4"),
        (MULTI, "#SBATCH --gres=gpu:a100:4", "a100"),
    ],
    ids=["mig", "share", "multi-gpu"],
)
def test_the_slurm_launcher_submits_a_job_for_the_slice(
    fake_slurm: Path, where: dict[str, Any], gres: str, partition: str
) -> None:
    launcher = SlurmLauncher(partitions={"h100": "gpu-h100"}, account="lab42")
    spec = worker_spec(
        "L9", where, SCHEDULER, walltime_s=5400, simulated=False, manager_assigns_devices=True
    )

    handle = launcher.start(spec)

    assert handle.ref == "4242"
    script = (fake_slurm / "submitted.sh").read_text()
    lines = script.splitlines()
    assert gres in lines
    assert f"#SBATCH -p {partition}" in lines
    assert "#SBATCH -A lab42" in lines
    assert "#SBATCH -t 01:30:00" in lines
    assert "#SBATCH --nodelist=n1" in lines
    assert "#SBATCH --cpus-per-task=8" in lines
    assert "export ZSLAB_LEASE_ID=L9" in lines
    worker_line = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert SCHEDULER in worker_line
    assert "--resources lease-L9=1" in worker_line and "--name lease-L9" in worker_line
    assert "--preload zslab.compute.slice_worker" in worker_line

    assert launcher.poll(handle) is None
    launcher.stop(handle)
    assert launcher.poll(handle) == 0
    calls = (fake_slurm / "calls.log").read_text().splitlines()
    assert calls[0].startswith("sbatch --parsable ")
    assert "scancel --signal=TERM --full 4242" in calls


def test_a_failed_submission_names_the_command_and_its_error(
    fake_slurm: Path,
) -> None:
    (fake_slurm / "bin" / "sbatch").write_text(
        "#!/bin/bash\necho 'invalid partition' >&2\nexit 1\n"
    )
    spec = worker_spec("L", MIG, SCHEDULER, walltime_s=600)

    with pytest.raises(RuntimeError, match="sbatch failed \\(1\\): invalid partition"):
        SlurmLauncher().start(spec)


# --- choosing a launcher ---------------------------------------------------------------------


def test_make_launcher_builds_each_kind_and_names_what_is_missing(tmp_path: Path) -> None:
    assert isinstance(make_launcher("local", log_dir=tmp_path), LocalLauncher)
    assert isinstance(make_launcher("slurm", log_dir=tmp_path), SlurmLauncher)
    kube = make_launcher("kubernetes", log_dir=tmp_path, options={"cluster": "c"})
    assert isinstance(kube, KubernetesLauncher) and kube.cluster == "c"
    with pytest.raises(ValueError, match=r"options\.cluster"):
        make_launcher("kubernetes", log_dir=tmp_path)
    with pytest.raises(ValueError, match="use local, kubernetes or slurm"):
        make_launcher("pbs", log_dir=tmp_path)
