"""Real engines driving the freshly built hull: podman, containerd + ctr, docker, buildah.
Each daemon is started by these fixtures with config and state under a temp dir and stopped
afterwards; after every test nothing of it may be left (containers, hull state, processes)."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from engines import (HULL_OCI, IMAGE, build_oci_archive, containerd_setup, dockerd_setup, podman_setup,
                     processes_rooted_under, sh, unmount_under)

if os.geteuid() != 0:
    pytest.exit("client tests run as root (real engines, real containers)", returncode=1)

HULL_DEFAULT_ROOT = Path("/run/hull")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "systemd: needs systemd as PID 1; tests/vm/run-suite --systemd runs these in the VM")

ENGINE_ID = re.compile(r"^[0-9a-f]{64}$")


def engine_state_dirs(root: Path):
    return {p.name for p in root.iterdir() if ENGINE_ID.match(p.name)} if root.is_dir() else set()


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    return build_oci_archive(tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="session")
def podman_session(tmp_path_factory, archive):
    home = tmp_path_factory.mktemp("podman")
    podman = podman_setup(home)
    podman("load", "-i", archive)
    podman.home = home
    yield podman
    podman("rm", "--all", "--force", "--time", "0", check=False)
    podman("system", "reset", "--force", check=False)
    unmount_under(home)


@pytest.fixture
def podman(podman_session):
    """podman for one test: what the test leaves (containers, hull state dirs under podman's
    runtime root, /run/hull, container processes) fails it."""
    before = engine_state_dirs(HULL_DEFAULT_ROOT)
    yield podman_session
    left = podman_session("ps", "--all", "--quiet", "--no-trunc", check=False).stdout.split()
    if left:
        podman_session("rm", "--force", "--time", "0", *left, check=False)
    state = sorted(engine_state_dirs(HULL_DEFAULT_ROOT) - before)
    procs = processes_rooted_under(podman_session.home)
    for cid in state:
        subprocess.run([str(HULL_OCI), "delete", "--force", cid], capture_output=True)
    assert not (left or state or procs), f"left behind: containers {left}, hull state {state}, processes {procs}"


@pytest.fixture(scope="session")
def containerd(tmp_path_factory):
    home = tmp_path_factory.mktemp("containerd")
    d = containerd_setup(home)
    d.home = home
    yield d
    d.stop()
    unmount_under(home)


@pytest.fixture(scope="session")
def ctr_session(containerd, archive):
    from engines import Engine, SYSTEM_PATH
    ctr = Engine(["ctr", "--address", containerd.socket, "--namespace", "hulltest"], {"PATH": SYSTEM_PATH},
                 containerd.home)
    ctr("images", "import", archive)
    ctr.home = containerd.home
    ctr.runc_root = containerd.home / "hull-state"
    yield ctr
    for cid in ctr("containers", "list", "--quiet", check=False).stdout.split():
        ctr("tasks", "kill", "--signal", "KILL", "--all", cid, check=False)
        ctr("tasks", "delete", "--force", cid, check=False)
        ctr("containers", "delete", cid, check=False)
    # containerd puts a namespace's tasks in the cgroup /NAMESPACE/ID; the runtime removes ID,
    # and runc (also run here) leaves the namespace's parent, as containerd expects.
    left = []
    for h in Path("/sys/fs/cgroup").iterdir():
        parent = h / "hulltest"
        if parent.is_dir():
            try:
                parent.rmdir()
            except OSError as e:
                left.append(f"{parent}: {e.strerror}")
    assert not left, f"cgroups left under the ctr namespace: {left}"


@pytest.fixture
def ctr(ctr_session):
    yield ctr_session
    left = ctr_session("containers", "list", "--quiet", check=False).stdout.split()
    for cid in left:
        ctr_session("tasks", "delete", "--force", cid, check=False)
        ctr_session("containers", "delete", cid, check=False)
    state = [p.name for p in ctr_session.runc_root.rglob("state.json")] if ctr_session.runc_root.exists() else []
    procs = processes_rooted_under(ctr_session.home)
    assert not (left or state or procs), f"left behind: containers {left}, hull state {state}, processes {procs}"


@pytest.fixture(scope="session")
def docker_session(tmp_path_factory, containerd, archive):
    home = tmp_path_factory.mktemp("docker")
    # docker loads docker archives: skopeo converts the OCI archive.
    docker_archive = home / "busybox-docker.tar"
    sh(["skopeo", "copy", "--quiet", f"oci-archive:{archive}", f"docker-archive:{docker_archive}:{IMAGE}"])
    d = dockerd_setup(home, containerd.socket, "10.213.7.1/24")
    docker = d.cli
    docker("load", "--input", docker_archive)
    docker.home = home
    docker.containerd_home = containerd.home
    yield docker
    docker("rm", "--force", *docker("ps", "--all", "--quiet", check=False).stdout.split(), check=False)
    d.stop()
    unmount_under(home)


@pytest.fixture
def docker(docker_session):
    yield docker_session
    left = docker_session("ps", "--all", "--quiet", check=False).stdout.split()
    if left:
        docker_session("rm", "--force", *left, check=False)
    procs = processes_rooted_under(docker_session.home)
    assert not (left or procs), f"left behind: containers {left}, processes {procs}"
