"""Kubernetes' node path with the systemd cgroup driver (issue 13): containerd's CRI plugin with
`SystemdCgroup = true` and hull as BinaryName, as kubeadm sets up a node. The pod's cgroup
parent is a slice, and each container a scope `cri-containerd-ID.scope` that hull has systemd
make. Needs systemd as PID 1: skips elsewhere, runs in the VM (tests/vm/run-suite --systemd)."""
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from cri.client import CRI
from engines import (HULL_OCI, MEMORY_PROP, build_pause_archive, containerd_cri_setup, memory_limit,
                     processes_rooted_under, unmount_under)
from hulltest import require_systemd_init

pytestmark = pytest.mark.systemd
IMAGE = "localhost/busybox:latest"
MiB = 1 << 20


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, "-p", ",".join(props)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def units(pattern):
    out = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", pattern],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.fixture
def node(tmp_path, archive):
    require_systemd_init()
    home = tmp_path / "cri"
    daemon = containerd_cri_setup(home, HULL_OCI, "10.214.9.0/24", systemd_cgroup=True)
    cri = None
    try:
        daemon.ctr("images", "import", archive)
        daemon.ctr("images", "import", build_pause_archive(tmp_path / "pause"))
        cri = CRI(daemon.socket)
        deadline = time.time() + 60
        while True:
            try:
                cri("Version")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        cri.home = home
        yield cri
        left = [p.id for p in cri("ListPodSandbox").items]
        procs = processes_rooted_under(home)
        assert not (left or procs), f"left behind: pods {left}, processes {procs}"
    finally:
        if cri:
            for pod in cri("ListPodSandbox").items:
                cri("StopPodSandbox", pod_sandbox_id=pod.id)
                cri("RemovePodSandbox", pod_sandbox_id=pod.id)
            cri.close()
        daemon.stop()
        unmount_under(home)


def test_pod_with_systemd_cgroups_as_kubeadm_sets_it_up(node):
    pb = node.pb
    slice_ = f"hulltest-pod{uuid.uuid4().hex[:8]}.slice"
    logs = node.home / "logs"
    logs.mkdir()
    pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="sd", uid=uuid.uuid4().hex, namespace="hulltest", attempt=0),
        hostname="sd", log_directory=str(logs), linux=pb.LinuxPodSandboxConfig(cgroup_parent=slice_))
    try:
        pod_id = node("RunPodSandbox", config=pod_cfg).pod_sandbox_id
        resources = pb.LinuxContainerResources(memory_limit_in_bytes=64 * MiB, cpu_period=100000, cpu_quota=50000,
                                               cpu_shares=512)
        config = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=IMAGE),
                                    command=["sleep", "1000"], log_path="app.log",
                                    linux=pb.LinuxContainerConfig(resources=resources))
        cid = node("CreateContainer", pod_sandbox_id=pod_id, config=config, sandbox_config=pod_cfg).container_id
        node("StartContainer", container_id=cid)
        pid = json.loads(node("ContainerStatus", container_id=cid, verbose=True).info["info"])["pid"]
        unit = f"cri-containerd-{cid}.scope"
        cgroup = [l[3:] for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if l.startswith("0::")][0]
        assert cgroup == f"/hulltest.slice/{slice_}/{unit}", cgroup
        props = show(unit, MEMORY_PROP, "CPUQuotaPerSecUSec", "Delegate", "ActiveState")
        assert props == {MEMORY_PROP: str(64 * MiB), "CPUQuotaPerSecUSec": "500ms", "Delegate": "yes",
                         "ActiveState": "active"}, props
        assert memory_limit(cgroup) == str(64 * MiB)
        r = node("ExecSync", container_id=cid, cmd=["sh", "-c", "echo out"], timeout=30)
        assert (r.stdout, r.exit_code) == (b"out\n", 0)
        stats = node("ContainerStats", container_id=cid).stats
        assert stats.memory.working_set_bytes.value > 0
        node("UpdateContainerResources", container_id=cid,
             linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 * MiB, cpu_period=100000, cpu_quota=30000,
                                              cpu_shares=256))
        assert show(unit, MEMORY_PROP)[MEMORY_PROP] == str(96 * MiB)
        assert memory_limit(cgroup) == str(96 * MiB)
        node("StopContainer", container_id=cid, timeout=2)
        node("RemoveContainer", container_id=cid)
        node("StopPodSandbox", pod_sandbox_id=pod_id)
        node("RemovePodSandbox", pod_sandbox_id=pod_id)
        deadline = time.time() + 30
        while units("cri-containerd-*") and time.time() < deadline:
            time.sleep(0.2)
        assert not units("cri-containerd-*")
    finally:
        subprocess.run(["systemctl", "stop", slice_], capture_output=True)
