"""docker with native.cgroupdriver=systemd driving hull (issue 13): dockerd asks the runc shim for
SystemdCgroup and a cgroupsPath system.slice:docker:ID, and hull puts the container in the
scope docker-ID.scope. Needs systemd as PID 1: skips elsewhere, runs in the VM
(tests/vm/run-suite --systemd)."""
import os
import subprocess
from pathlib import Path

import pytest

from engines import IMAGE, MEMORY_PROP, dockerd_setup, memory_limit, processes_rooted_under, sh, unmount_under
from hulltest import require_systemd_init, systemd_is_init

MiB = 1 << 20


# Skipped before the session's containerd starts for nothing (the fixture fails instead where
# HULL_EXPECT_SYSTEMD says systemd must be there).
pytestmark = [pytest.mark.systemd,
              pytest.mark.skipif(not systemd_is_init() and not os.environ.get("HULL_EXPECT_SYSTEMD"),
                                 reason="needs systemd as PID 1 (tests/vm/run-suite --systemd runs it)")]


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, "-p", ",".join(props)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture
def docker_sd(tmp_path, containerd, archive):
    require_systemd_init()
    home = tmp_path / "docker"
    home.mkdir()
    docker_archive = home / "busybox-docker.tar"
    sh(["skopeo", "copy", "--quiet", f"oci-archive:{archive}", f"docker-archive:{docker_archive}:{IMAGE}"])
    d = dockerd_setup(home, containerd.socket, "10.213.9.1/24", exec_opts=["native.cgroupdriver=systemd"])
    docker = d.cli
    try:
        docker("load", "--input", docker_archive)
        yield docker
        left = docker("ps", "--all", "--quiet", check=False).stdout.split()
        procs = processes_rooted_under(home)
        assert not (left or procs), f"left behind: containers {left}, processes {procs}"
    finally:
        docker("rm", "--force", *docker("ps", "--all", "--quiet", check=False).stdout.split(), check=False)
        d.stop()
        unmount_under(home)


def test_docker_with_systemd_cgroups_runs_a_limited_container_in_a_scope(docker_sd):
    docker = docker_sd
    assert "Cgroup Driver: systemd" in docker("info").stdout
    # The VM's kernel has AppArmor and no apparmor_parser is installed for docker's profile.
    cid = docker("run", "-d", "--security-opt", "apparmor=unconfined", "--memory", "48m", "--cpus", "0.5",
                 "--pids-limit", "30", IMAGE, "sleep", "100").stdout.strip()
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", cid).stdout)
    unit = f"docker-{cid}.scope"
    cgroup = [l[3:] for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if l.startswith("0::")][0]
    assert cgroup == f"/system.slice/{unit}", cgroup
    props = show(unit, MEMORY_PROP, "CPUQuotaPerSecUSec", "TasksMax", "Delegate", "ActiveState")
    assert props == {MEMORY_PROP: str(48 * MiB), "CPUQuotaPerSecUSec": "500ms", "TasksMax": "30",
                     "Delegate": "yes", "ActiveState": "active"}, props
    assert memory_limit(cgroup) == str(48 * MiB)
    docker("update", "--memory", "64m", "--memory-swap", "128m", cid)
    assert show(unit, MEMORY_PROP)[MEMORY_PROP] == str(64 * MiB)
    assert docker("exec", cid, "echo", "in").stdout == "in\n"
    docker("rm", "--force", cid)
    out = subprocess.run(["systemctl", "show", unit, "-p", "LoadState"], capture_output=True, text=True).stdout
    assert out.strip() in ("LoadState=not-found", ""), out
