"""podman with cgroup_manager = "systemd" driving hull: podman passes --systemd-cgroup and a
cgroupsPath machine.slice:libpod:ID, and hull puts the container in the scope libpod-ID.scope.
Needs systemd as PID 1: it skips elsewhere and runs in the VM (tests/vm/run-suite --systemd),
where HULL_EXPECT_SYSTEMD=1 makes a missing systemd a failure."""
import subprocess
from pathlib import Path

import pytest

from engines import (IMAGE, MEMORY_PROP, build_oci_archive, cpu_max, memory_limit, podman_setup,
                     processes_rooted_under, unmount_under)
from hulltest import require_systemd_init

pytestmark = pytest.mark.systemd
MiB = 1 << 20


@pytest.fixture
def podman_sd(tmp_path):
    require_systemd_init()
    home = tmp_path / "podman"
    podman = podman_setup(home)
    conf = home / "containers.conf"
    conf.write_text(conf.read_text().replace('cgroup_manager = "cgroupfs"', 'cgroup_manager = "systemd"'))
    podman("load", "-i", build_oci_archive(tmp_path / "image"))
    yield podman
    left = podman("ps", "--all", "--quiet", "--no-trunc", check=False).stdout.split()
    if left:
        podman("rm", "--force", "--time", "0", *left, check=False)
    procs = processes_rooted_under(home)
    podman("system", "reset", "--force", check=False)
    unmount_under(home)
    units = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "libpod-*"],
                           capture_output=True, text=True).stdout.split("\n")
    units = [u.split()[0] for u in units if u.strip() and "conmon" not in u]
    assert not (left or procs or units), f"left behind: containers {left}, processes {procs}, units {units}"


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, "-p", ",".join(props)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_podman_with_systemd_cgroups_runs_a_limited_container_in_a_scope(podman_sd):
    podman = podman_sd
    name = "sdlimited"
    podman("run", "-d", "--name", name, "--memory", "48m", "--cpus", "0.5", "--pids-limit", "30", IMAGE,
           "sleep", "100")
    cid = podman("inspect", "--format", "{{.Id}}", name).stdout.strip()
    pid = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    unit = f"libpod-{cid}.scope"
    cgroup = [l[3:] for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if l.startswith("0::")][0]
    assert cgroup == f"/machine.slice/{unit}", cgroup
    props = show(unit, MEMORY_PROP, "CPUQuotaPerSecUSec", "TasksMax", "Delegate", "ActiveState")
    assert props == {MEMORY_PROP: str(48 * MiB), "CPUQuotaPerSecUSec": "500ms", "TasksMax": "30",
                     "Delegate": "yes", "ActiveState": "active"}, props
    assert memory_limit(cgroup) == str(48 * MiB)
    assert cpu_max(cgroup) == "50000 100000"
    # update through podman: systemd's property and the file.
    podman("update", "--memory", "64m", name)
    assert show(unit, MEMORY_PROP)[MEMORY_PROP] == str(64 * MiB)
    assert memory_limit(cgroup) == str(64 * MiB)
    podman("rm", "--force", "--time", "0", name)
    out = subprocess.run(["systemctl", "show", unit, "-p", "LoadState"], capture_output=True, text=True).stdout
    assert out.strip() in ("LoadState=not-found", ""), out
