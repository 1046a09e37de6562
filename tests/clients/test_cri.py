"""Kubernetes' node path (issue 13, issue 19): containerd 1.6's CRI plugin with hull as the runc
shim's BinaryName, driven over CRI v1 gRPC as kubelet drives it (the cgroupfs driver, this hybrid
host). The same suite runs with runc as BinaryName, to show the suite asks only what runc does.
Pods get their network from Debian's CNI plugins, in a network namespace of containerd's own."""
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from cri.client import CRI
from engines import HULL_OCI, build_pause_archive, containerd_cri_setup, processes_rooted_under, unmount_under

RUNTIMES = {"hull": HULL_OCI, "runc": "/usr/sbin/runc"}
SUBNETS = {"hull": "10.214.1.0/24", "runc": "10.214.2.0/24"}
IMAGE = "localhost/busybox:latest"
MiB = 1 << 20


@pytest.fixture(scope="session")
def pause_archive(tmp_path_factory):
    return build_pause_archive(tmp_path_factory.mktemp("pause"))


class Node:
    """containerd with CRI for one runtime, and what a test needs to look at it from the host."""

    def __init__(self, name, daemon, home):
        self.name = name
        self.daemon = daemon
        self.home = home
        self.cri = CRI(daemon.socket)
        self.pb = self.cri.pb
        self.cgroup_parent = f"/hulltest-cri-{name}-{uuid.uuid4().hex[:6]}"

    def __call__(self, method, **fields):
        return self.cri(method, **fields)


@pytest.fixture(scope="module", params=sorted(RUNTIMES))
def node(request, tmp_path_factory, archive, pause_archive):
    name = request.param
    home = tmp_path_factory.mktemp(f"cri-{name}")
    daemon = containerd_cri_setup(home, RUNTIMES[name], SUBNETS[name])
    n = None
    try:
        daemon.ctr("images", "import", archive)
        daemon.ctr("images", "import", pause_archive)
        n = Node(name, daemon, home)
        deadline = time.time() + 30
        while True:
            try:
                n("Version")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        yield n
    finally:
        # Best effort, each step on its own: a runtime that cannot stop a pod must not keep
        # containerd running or its mounts in place.
        if n:
            try:
                for pod in n("ListPodSandbox").items:
                    n("StopPodSandbox", pod_sandbox_id=pod.id)
                    n("RemovePodSandbox", pod_sandbox_id=pod.id)
            except Exception as e:
                print(f"cleanup of {name}'s pods: {e}")
            n.cri.close()
        daemon.stop()
        unmount_under(home)


def cgroup_tree(parent):
    """Every directory at and under `parent` in each cgroup hierarchy, deepest first."""
    found = []
    for h in Path("/sys/fs/cgroup").iterdir():
        base = h / parent.strip("/")
        if h.is_dir() and not h.is_symlink() and base.is_dir():
            found += [base] + [d for d in base.rglob("*") if d.is_dir()]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


@pytest.fixture
def pods(node):
    """The node for one test; afterwards nothing may be left: pods, containers, runtime state,
    processes, the containers' cgroups (the pod-level cgroups are the kubelet's: removed here,
    which only succeeds when they are empty)."""
    yield node
    left = [p.id for p in node("ListPodSandbox").items] + [c.id for c in node("ListContainers").containers]
    for pod in node("ListPodSandbox").items:  # so that one failure does not fail the next test
        node("StopPodSandbox", pod_sandbox_id=pod.id)
        node("RemovePodSandbox", pod_sandbox_id=pod.id)
    state = [p.parent.name for p in (node.home / "runtime-root").rglob("state.json")]
    procs = processes_rooted_under(node.home)
    cgroups = []
    for d in cgroup_tree(node.cgroup_parent):
        if d.parent.name.startswith("pod"):
            cgroups.append(str(d))  # a container's own cgroup (the pod's holds none)
        try:
            d.rmdir()
        except OSError as e:
            cgroups.append(f"{d}: {e.strerror}")
    cgroups = cgroups[:4] + ([f"... {len(cgroups) - 4} more"] if len(cgroups) > 4 else [])
    netns = list((node.home / "state").rglob("netns/*")) if (node.home / "state").exists() else []
    assert not (left or state or procs or cgroups or [n for n in netns if n.is_file()]), \
        f"left behind: pods/containers {left}, runtime state {state}, processes {procs}, cgroups {cgroups}"


def pod_config(node, name, **linux):
    pb = node.pb
    uid = uuid.uuid4().hex
    logs = node.home / "logs" / uid
    logs.mkdir(parents=True)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="hulltest", attempt=0),
        hostname=name, log_directory=str(logs), labels={"test": name},
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{node.cgroup_parent}/pod{uid}", **linux))


def container_config(node, name, command, memory=0, cpu_quota=0, pid_mode=None):
    pb = node.pb
    resources = pb.LinuxContainerResources(memory_limit_in_bytes=memory, cpu_period=100000 if cpu_quota else 0,
                                           cpu_quota=cpu_quota, cpu_shares=512)
    security = pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(pid=pid_mode if pid_mode is not None else pb.CONTAINER))
    return pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
                              command=command, log_path=f"{name}.log",
                              linux=pb.LinuxContainerConfig(resources=resources, security_context=security))


def run_pod(node, name, **linux):
    config = pod_config(node, name, **linux)
    return node("RunPodSandbox", config=config).pod_sandbox_id, config


def start(node, pod_id, pod_cfg, config):
    cid = node("CreateContainer", pod_sandbox_id=pod_id, config=config, sandbox_config=pod_cfg).container_id
    node("StartContainer", container_id=cid)
    return cid


def status(node, cid):
    return node("ContainerStatus", container_id=cid, verbose=True)


def wait_state(node, cid, state, timeout=30):
    deadline = time.time() + timeout
    while True:
        st = status(node, cid).status
        if st.state == state:
            return st
        if time.time() > deadline:
            raise AssertionError(f"container {cid} never {node.pb.ContainerState.Name(state)}: {st}")
        time.sleep(0.1)


def host_pid(node, cid):
    return json.loads(status(node, cid).info["info"])["pid"]


def cgroup_file(pid, controller, name):
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup") / controllers / path.lstrip("/") / name
    raise AssertionError(f"{pid} has no {controller} cgroup")


def read_int(path):
    return int(path.read_text().split()[0])


def test_pod_lifecycle_as_kubelet_runs_it(pods):
    node, pb = pods, pods.pb
    pod_id, pod_cfg = run_pod(node, "life")
    pod = node("PodSandboxStatus", pod_sandbox_id=pod_id).status
    assert pod.state == pb.SANDBOX_READY
    assert pod.network.ip.startswith(SUBNETS[node.name].rsplit(".", 1)[0] + "."), pod.network

    # A long-running container with CPU and memory limits, in the pod's PID namespace (shared
    # process namespace: its exit takes the shim's kill --all path, issue 19).
    app = start(node, pod_id, pod_cfg, container_config(node, "app", ["sleep", "1000"], memory=64 * MiB,
                                                        cpu_quota=50000, pid_mode=pb.POD))
    assert status(node, app).status.state == pb.CONTAINER_RUNNING
    pid = host_pid(node, app)
    assert read_int(cgroup_file(pid, "memory", "memory.limit_in_bytes")) == 64 * MiB
    assert read_int(cgroup_file(pid, "cpu", "cpu.cfs_quota_us")) == 50000
    assert read_int(cgroup_file(pid, "cpu", "cpu.shares")) == 512

    r = node("ExecSync", container_id=app, cmd=["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=20)
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 3)

    stats = node("ContainerStats", container_id=app).stats
    assert stats.attributes.id == app and stats.memory.working_set_bytes.value > 0
    assert stats.cpu.usage_core_nano_seconds.value > 0
    listed = node("ListContainerStats", filter=pb.ContainerStatsFilter(pod_sandbox_id=pod_id)).stats
    assert [s.attributes.id for s in listed] == [app]

    node("UpdateContainerResources", container_id=app,
         linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 * MiB, cpu_period=100000, cpu_quota=30000,
                                          cpu_shares=256))
    assert read_int(cgroup_file(pid, "memory", "memory.limit_in_bytes")) == 96 * MiB
    assert read_int(cgroup_file(pid, "cpu", "cpu.cfs_quota_us")) == 30000

    # A container that exits by itself: recorded, with its code and its log.
    done = start(node, pod_id, pod_cfg, container_config(node, "done", ["sh", "-c", "echo bye; exit 7"],
                                                         pid_mode=pb.POD))
    st = wait_state(node, done, pb.CONTAINER_EXITED)
    assert (st.exit_code, st.reason) == (7, "Error"), st
    assert "bye" in Path(pod_cfg.log_directory, "done.log").read_text()

    # One the kernel OOM-kills at its limit.
    oom = start(node, pod_id, pod_cfg, container_config(node, "oom", ["helper", "memhog", "256m"], memory=32 * MiB))
    st = wait_state(node, oom, pb.CONTAINER_EXITED)
    assert (st.exit_code, st.reason) == (137, "OOMKilled"), st

    # StopContainer of a running container (sleep as PID 1 ignores SIGTERM: SIGKILL after the
    # grace period) and of exited ones: both succeed.
    node("StopContainer", container_id=app, timeout=2)
    assert status(node, app).status.state == pb.CONTAINER_EXITED
    for cid in (done, oom):
        node("StopContainer", container_id=cid, timeout=2)
    for cid in (app, done, oom):
        node("RemoveContainer", container_id=cid)
    assert list(node("ListContainers", filter=pb.ContainerFilter(pod_sandbox_id=pod_id)).containers) == []

    node("StopPodSandbox", pod_sandbox_id=pod_id)
    assert node("PodSandboxStatus", pod_sandbox_id=pod_id).status.state == pb.SANDBOX_NOTREADY
    node("RemovePodSandbox", pod_sandbox_id=pod_id)
    assert list(node("ListPodSandbox").items) == []


def test_two_containers_share_the_pods_network_ipc_and_uts(pods):
    node, pb = pods, pods.pb
    pod_id, pod_cfg = run_pod(node, "shared")
    ids = [start(node, pod_id, pod_cfg, container_config(node, f"c{i}", ["sleep", "1000"])) for i in (1, 2)]
    look = "for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname"
    seen = []
    for cid in ids:
        r = node("ExecSync", container_id=cid, cmd=["sh", "-c", look], timeout=20)
        assert r.exit_code == 0, r.stderr
        seen.append(r.stdout.decode().split())
    net, ipc, uts, pid, hostname = zip(*seen)
    assert net[0] == net[1] and ipc[0] == ipc[1] and uts[0] == uts[1], seen
    assert pid[0] != pid[1], seen  # kubelet's default: a PID namespace per container
    assert hostname == ("shared", "shared")
    host = [os.readlink(f"/proc/self/ns/{k}") for k in ("net", "ipc", "uts")]
    assert net[0] != host[0] and ipc[0] != host[1] and uts[0] != host[2]
    # An address on the pod's interface, in the test subnet, seen by both.
    r = node("ExecSync", container_id=ids[1], cmd=["ip", "-4", "-o", "addr", "show", "eth0"], timeout=20)
    ip = node("PodSandboxStatus", pod_sandbox_id=pod_id).status.network.ip
    assert f" {ip}/" in r.stdout.decode(), r.stdout
    node("StopPodSandbox", pod_sandbox_id=pod_id)
    for cid in ids:
        assert status(node, cid).status.state == pb.CONTAINER_EXITED
    node("RemovePodSandbox", pod_sandbox_id=pod_id)
