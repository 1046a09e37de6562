"""What only a pure cgroup v2 host shows (issue 3, "cgroup v2 for real"): the init cloned straight
into its cgroup, the controllers delegated along the path, the cgroup namespace and the cgroup
mount rooted at the container's cgroup. They skip on v1 and hybrid hosts; tests/vm/run-suite runs
them in a VM whose only hierarchy is cgroup2."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL_OCI

pytestmark = pytest.mark.cgroup

# The controllers linux.resources needs on v2.
RESOURCE_CONTROLLERS = {"cpu", "cpuset", "io", "memory", "pids", "hugetlb"}


def controllers(path: Path, name="cgroup.controllers"):
    return set((path / name).read_text().split())


def need(condition, why):
    if not condition:
        if os.environ.get("HULL_EXPECT_CGROUP_V2"):
            pytest.fail(f"the v2 VM should have this: {why}")
        pytest.skip(why)


def remove_cgroups(*dirs):
    for d in dirs:
        deadline = time.time() + 30
        while True:
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:  # EBUSY while the last task is still exiting
                if time.time() > deadline:
                    break
                time.sleep(0.01)


def test_the_init_sees_itself_at_the_root_of_its_cgroup_namespace(hull, bundle, cgroup_v2):
    # Unshared once the init is in its cgroup: had it been anywhere else at that moment, the
    # namespace's root would be that other cgroup and the path here would not be "/".
    p = hull.run(bundle(["cat", "/proc/self/cgroup"]))
    assert (p.returncode, p.stdout) == (0, "0::/\n"), p.stderr


def test_the_host_sees_the_init_in_the_containers_cgroup_before_start(hull, bundle, cgroup_v2):
    cid = hull.create(bundle(["sleep", "60"]))
    pid = hull.state(cid)["pid"]
    assert Path(f"/proc/{pid}/cgroup").read_text() == f"0::/hull/{cid}\n"
    assert (cgroup_v2 / "hull" / cid / "cgroup.procs").read_text().split() == [str(pid)]
    hull.oci("delete", "--force", cid)
    assert not (cgroup_v2 / "hull" / cid).exists()


def test_the_init_is_cloned_straight_into_its_cgroup(hull, bundle, cgroup_v2):
    # hull runs in a cgroup that allows it no second task. With CLONE_INTO_CGROUP the init is
    # charged to its own cgroup from its first instruction; forked next to hull and moved
    # afterwards, the fork itself would fail (EAGAIN, counted in pids.events).
    need("pids" in controllers(cgroup_v2, "cgroup.subtree_control"), "the root cgroup delegates pids")
    launcher = cgroup_v2 / f"{hull.prefix}-launcher"
    launcher.mkdir()
    try:
        (launcher / "pids.max").write_text("1")
        b = bundle(["cat", "/proc/self/cgroup"])
        cid = hull.new_id()

        def enter_launcher():
            with open(launcher / "cgroup.procs", "w") as f:
                f.write("0")

        p = subprocess.run([str(HULL_OCI), "--root", str(hull.root), "run", "--bundle", str(b.path), cid],
                           preexec_fn=enter_launcher, capture_output=True, text=True, timeout=120)
        assert (p.returncode, p.stdout, p.stderr) == (0, "0::/\n", "")
        assert (launcher / "pids.events").read_text().split() == ["max", "0"]
    finally:
        remove_cgroups(launcher)


def test_controllers_are_enabled_along_the_path_and_not_in_the_leaf(hull, bundle, cgroup_v2):
    wanted = RESOURCE_CONTROLLERS & controllers(cgroup_v2)
    need({"memory", "pids", "cpu"} <= wanted, "the kernel has the memory, pids and cpu controllers")
    top = cgroup_v2 / f"{hull.prefix}-top"
    top.mkdir()  # nothing delegated: hull must enable the controllers here itself
    mid = top / "mid"
    cid = hull.new_id()
    try:
        assert controllers(top, "cgroup.subtree_control") == set()
        b = bundle(["sleep", "60"])
        b.linux["cgroupsPath"] = f"/{top.name}/mid/{cid}"
        b.save()
        hull.create(b, cid)
        leaf = mid / cid
        for d in (cgroup_v2, top, mid):
            assert wanted <= controllers(d, "cgroup.subtree_control"), d
        assert wanted <= controllers(leaf)
        # The init lives in the leaf: "no internal processes" forbids delegating from it.
        assert controllers(leaf, "cgroup.subtree_control") == set()
        pid = hull.state(cid)["pid"]
        assert Path(f"/proc/{pid}/cgroup").read_text() == f"0::/{top.name}/mid/{cid}\n"
        hull.oci("delete", "--force", cid)
        assert not leaf.exists()
    finally:
        hull.oci("delete", "--force", cid, check=False)
        remove_cgroups(mid / cid, mid, top)


def test_the_cgroup_mount_is_rooted_at_the_containers_cgroup(hull, bundle, cgroup_v2):
    cid = hull.create(bundle(["sleep", "60"]))
    pid = hull.state(cid)["pid"]
    # Read from the host's cgroup namespace, a cgroup2 mount's root is its place in the tree.
    mounts = [line.split() for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
              if line.split()[4] == "/sys/fs/cgroup"]
    assert len(mounts) == 1, mounts
    fields = mounts[0]
    assert fields[3] == f"/hull/{cid}"
    assert fields[fields.index("-") + 1] == "cgroup2"
    assert "ro" in fields[5].split(",")
    hull.oci("delete", "--force", cid)


def test_inside_the_cgroup_mount_only_the_container_is_seen(hull, bundle, cgroup_v2):
    script = ("grep ' /sys/fs/cgroup ' /proc/self/mountinfo | cut -d' ' -f4,5; "
              "echo procs $(cat /sys/fs/cgroup/cgroup.procs); "
              "ls /sys/fs/cgroup | grep -qx hull && echo sees-hull; "
              "if mkdir /sys/fs/cgroup/probe 2>/dev/null; then rmdir /sys/fs/cgroup/probe; echo writable; "
              "else echo read-only; fi")
    p = hull.run(bundle(["sh", "-c", script]))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "/ /sys/fs/cgroup"
    procs = lines[1].split()[1:]
    # The shell (PID 1 of the container) and the cat reading the file (maybe a subshell
    # between them); nothing of the host.
    assert "1" in procs and 2 <= len(procs) <= 3, lines
    assert lines[2:] == ["read-only"]


def test_without_a_cgroup_namespace_the_containers_cgroup_is_bound(hull, bundle, cgroup_v2):
    b = bundle(["sh", "-c", "cat /proc/self/cgroup; echo procs $(cat /sys/fs/cgroup/cgroup.procs); "
                            "ls /sys/fs/cgroup | grep -qx hull && echo sees-hull; true"])
    b.remove_namespace("cgroup")
    b.save()
    cid = hull.new_id()
    p = hull.run(b, cid)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"0::/hull/{cid}"
    procs = lines[1].split()[1:]
    assert "1" in procs and 2 <= len(procs) <= 3, lines
    assert lines[2:] == []
