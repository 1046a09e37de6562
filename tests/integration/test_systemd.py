"""The systemd cgroup driver (issue 13): `hull-oci --systemd-cgroup` puts a container in a
transient scope that systemd makes over D-Bus, and the friendly face does so by itself where
systemd is the init. The tests marked `systemd` need systemd as PID 1: they skip elsewhere and
run in the VM (tests/vm/run-suite --systemd), where HULL_EXPECT_SYSTEMD=1 makes a missing
systemd a failure. The others run on any host without systemd: the flag's one-line refusal."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from hulltest import require_systemd_init, systemd_is_init, wait_for

CG = Path("/sys/fs/cgroup")
MiB = 1 << 20
# A pure v2 host, or a hybrid one (v1 controllers, systemd's name=systemd hierarchy, cgroup2 at
# /sys/fs/cgroup/unified): the VM boots both (tests/vm/run-suite --systemd, --systemd-hybrid).
V2 = (CG / "cgroup.controllers").exists()
MEMORY_PROP = "MemoryMax" if V2 else "MemoryLimit"


def cg_file(path, v2_name, controller, v1_name):
    """A cgroup file of the container's cgroup PATH: the v2 name, or where v1 keeps it."""
    rel = path.lstrip("/")
    return CG / rel / v2_name if V2 else CG / controller / rel / v1_name


def cg_read(path, v2_name, controller, v1_name):
    return cg_file(path, v2_name, controller, v1_name).read_text().strip()


@pytest.fixture
def systemd(hull):
    """systemd as PID 1, and afterwards no unit and no cgroup of the test's left behind."""
    require_systemd_init()
    slices = []
    yield slices
    left = [u for u in units(hull.prefix) if not u.endswith(".slice")]
    left += [str(d) for d in CG.rglob(f"*{hull.prefix}*") if d.is_dir() and not d.name.endswith(".slice")]
    for s in slices:  # systemd keeps slices it made; the test stops its own
        subprocess.run(["systemctl", "stop", s], capture_output=True)
    if left:
        hull.force_cleanup()
        for u in units(hull.prefix):
            subprocess.run(["systemctl", "stop", u], capture_output=True)
            subprocess.run(["systemctl", "reset-failed", u], capture_output=True)
    assert not left, "left behind: " + "; ".join(left)


def units(pattern):
    out = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", f"*{pattern}*"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, "-p", ",".join(props)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def resources(b, **kw):
    b.linux["resources"] = kw
    b.save()


def one_line_error(p, *must_contain):
    err = p.stderr.strip()
    assert p.returncode != 0, p.stdout
    assert "\n" not in err, f"more than one line: {err!r}"
    for m in must_contain:
        assert m in err, f"{m!r} not in {err!r}"
    return err


def sd_create(hull, b, cid, check=True):
    """hull-oci --systemd-cgroup create; output through files, as the container keeps them open."""
    p = hull.oci("--systemd-cgroup", "create", "--bundle", b.path, cid, check=check, files=True)
    if p.returncode == 0:
        hull.state(cid)  # its init is then checked for at the end
    return p


def cgroup_of(pid):
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise AssertionError(f"no cgroup2 line for {pid}")


# --- any host: the flag without systemd, cgroupsPath forms without the flag ---

@pytest.mark.skipif(systemd_is_init(), reason="systemd runs here: the flag works")
def test_systemd_cgroup_without_systemd_fails_in_one_line(hull, bundle):
    b = bundle(["true"])
    cid = hull.new_id()
    p = sd_create(hull, b, cid, check=False)
    one_line_error(p, "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)")
    # Nothing exists of it: the hull fixture checks state, cgroups and processes too.
    assert hull.oci("state", cid, check=False).returncode != 0
    p = hull.oci("--systemd-cgroup", "run", "--bundle", b.path, hull.new_id(), check=False, files=True)
    one_line_error(p, "systemd is not running")


def test_systemd_path_without_the_flag_names_the_flag(hull, bundle):
    b = bundle(["true"])
    b.linux["cgroupsPath"] = "system.slice:hull:x"
    b.save()
    p = hull.oci("create", "--bundle", b.path, hull.new_id(), check=False)
    one_line_error(p, 'linux.cgroupsPath: "system.slice:hull:x" is a systemd slice:prefix:name path: '
                      "it needs --systemd-cgroup")


def test_features_say_systemd(hull):
    f = json.loads(hull.oci("features", root=False).stdout)
    assert f["linux"]["cgroup"]["systemd"] is True


# --- systemd as PID 1 ---

@pytest.mark.systemd
def test_lifecycle_in_a_scope_with_systemds_view_of_the_limits(hull, bundle, systemd):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    resources(b, memory={"limit": 64 * MiB, "swap": 96 * MiB}, cpu={"quota": 50000, "period": 100000, "shares": 512},
              pids={"limit": 32})
    cid = hull.new_id()
    sd_create(hull, b, cid)
    st = hull.state(cid)
    unit = f"hull-{cid}.scope"
    scope = f"/system.slice/{unit}"
    assert cgroup_of(st["pid"]) == scope
    weight = ("CPUWeight", "20") if V2 else ("CPUShares", "512")
    props = show(unit, "ActiveState", "Delegate", MEMORY_PROP, "MemorySwapMax", "CPUQuotaPerSecUSec",
                 "CPUQuotaPeriodUSec", weight[0], "TasksMax", "ControlGroup", "Slice")
    assert props["ActiveState"] == "active" and props["Delegate"] == "yes", props
    assert props["ControlGroup"] == scope and props["Slice"] == "system.slice", props
    assert props[MEMORY_PROP] == str(64 * MiB), props
    # v2 has a swap limit of its own (v1's memory+swap less memory); v1 has none in systemd.
    assert props["MemorySwapMax"] == (str(32 * MiB) if V2 else "infinity"), props
    assert props["CPUQuotaPerSecUSec"] == "500ms" and props["CPUQuotaPeriodUSec"] == "100ms", props
    assert props[weight[0]] == weight[1] and props["TasksMax"] == "32", props
    # The kernel's view agrees: hull wrote the files after systemd.
    assert cg_read(scope, "memory.max", "memory", "memory.limit_in_bytes") == str(64 * MiB)
    if V2:
        assert cg_read(scope, "memory.swap.max", "", "") == str(32 * MiB)
        assert cg_read(scope, "cpu.max", "", "") == "50000 100000"
    else:
        assert cg_read(scope, "", "memory", "memory.memsw.limit_in_bytes") == str(96 * MiB)
        assert cg_read(scope, "", "cpu,cpuacct", "cpu.cfs_quota_us") == "50000"
        assert cg_read(scope, "", "cpu,cpuacct", "cpu.cfs_period_us") == "100000"
        assert cg_read(scope, "", "cpu,cpuacct", "cpu.shares") == "512"
    assert cg_read(scope, "pids.max", "pids", "pids.max") == "32"
    hull.oci("start", cid)
    wait_for(lambda: len(json.loads(hull.oci("ps", "--format", "json", cid).stdout)) == 3, "three processes")
    # exec joins the scope's cgroup (seen from inside its cgroup namespace as the root).
    inside = hull.oci("exec", cid, "cat", "/proc/self/cgroup").stdout.split()
    assert "0::/" in inside or f"0::{scope}" in inside, inside
    if not V2:  # no cgroup namespace on a hybrid host (runc's rule): every hierarchy's path shows
        assert f"1:name=systemd:{scope}" in inside and any(f":memory:{scope}" in x for x in inside), inside
    # pause/resume on the scope's cgroup.
    hull.oci("pause", cid)
    assert hull.state(cid)["status"] == "paused"
    if V2:
        assert "frozen 1" in cg_read(scope, "cgroup.events", "", "")
    else:
        assert cg_read(scope, "", "freezer", "freezer.state") == "FROZEN"
    hull.oci("resume", cid)
    assert hull.state(cid)["status"] == "running"
    # update: systemd's properties and the files.
    hull.oci("update", "--memory", "128m", "--memory-swap", "160m", "--pids-limit", "20", "--cpu-quota", "20000", cid)
    props = show(unit, MEMORY_PROP, "TasksMax", "CPUQuotaPerSecUSec")
    assert props == {MEMORY_PROP: str(128 * MiB), "TasksMax": "20", "CPUQuotaPerSecUSec": "200ms"}, props
    assert cg_read(scope, "memory.max", "memory", "memory.limit_in_bytes") == str(128 * MiB)
    assert cg_read(scope, "pids.max", "pids", "pids.max") == "20"
    if V2:
        assert cg_read(scope, "cpu.max", "", "") == "20000 100000"
    else:
        assert cg_read(scope, "", "cpu,cpuacct", "cpu.cfs_quota_us") == "20000"
    stats = json.loads(hull.oci("events", "--stats", cid).stdout)
    assert stats["data"]["pids"]["current"] == 3 and stats["data"]["memory"]["usage"]["limit"] == 128 * MiB
    hull.oci("kill", "--all", cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)
    wait_for(lambda: not units(cid), f"unit {unit} to go")
    assert not [d for d in CG.rglob(unit)], f"a cgroup of {unit} is left"


@pytest.mark.systemd
def test_nested_slice_and_prefix(hull, bundle, systemd):
    b = bundle(["sleep", "1000"])
    slice_ = f"hulltest-{hull.prefix}.slice"
    systemd.append(slice_)
    cid = hull.new_id()
    b.linux["cgroupsPath"] = f"{slice_}:pfx:{cid}"
    b.save()
    sd_create(hull, b, cid)
    unit = f"pfx-{cid}.scope"
    path = f"/hulltest.slice/{slice_}/{unit}"
    assert cgroup_of(hull.state(cid)["pid"]) == path
    assert show(unit, "Slice")["Slice"] == slice_
    hull.oci("delete", "--force", cid)
    wait_for(lambda: not units(unit), f"unit {unit} to go")
    assert not [d for d in CG.rglob(unit)], f"a cgroup of {unit} is left"


@pytest.mark.systemd
def test_a_taken_unit_name_is_refused_and_the_first_container_kept(hull, bundle, systemd):
    b = bundle(["sleep", "1000"])
    b.linux["cgroupsPath"] = f"system.slice:hulltest:{hull.prefix}-shared"
    b.save()
    first = hull.new_id()
    sd_create(hull, b, first)
    second = hull.new_id()
    p = sd_create(hull, b, second, check=False)
    one_line_error(p, f"systemd unit hulltest-{hull.prefix}-shared.scope already exists")
    assert hull.oci("state", second, check=False).returncode != 0
    assert hull.state(first)["status"] == "created"
    assert show(f"hulltest-{hull.prefix}-shared.scope", "ActiveState")["ActiveState"] == "active"
    hull.oci("delete", "--force", first)


@pytest.mark.systemd
def test_invalid_slice_is_refused_before_anything_exists(hull, bundle, systemd):
    b = bundle(["true"])
    b.linux["cgroupsPath"] = "a--b.slice:p:n"
    b.save()
    p = sd_create(hull, b, hull.new_id(), check=False)
    one_line_error(p, 'linux.cgroupsPath: slice "a--b.slice" is not a valid slice name')


@pytest.mark.systemd
def test_systemd_refusing_a_property_is_one_line_and_leaves_nothing(hull, bundle, systemd):
    b = bundle(["true"])
    b.config["annotations"] = {"org.systemd.property.NoSuchProperty": "uint64 1"}
    b.save()
    cid = hull.new_id()
    p = sd_create(hull, b, cid, check=False)
    one_line_error(p, f"systemd refused to start unit hull-{cid}.scope (StartTransientUnit)", "NoSuchProperty")
    assert not units(cid)


@pytest.mark.systemd
def test_annotation_properties_reach_the_scope(hull, bundle, systemd):
    b = bundle(["sleep", "1000"])
    b.config["annotations"] = {"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
                               "org.systemd.property.CollectMode": "'inactive-or-failed'"}
    b.save()
    cid = hull.new_id()
    sd_create(hull, b, cid)
    props = show(f"hull-{cid}.scope", "TimeoutStopUSec", "CollectMode")
    assert props == {"TimeoutStopUSec": "2min 3.456789s", "CollectMode": "inactive-or-failed"}, props
    hull.oci("delete", "--force", cid)


@pytest.mark.systemd
def test_oom_in_a_scope_is_reported_and_the_scope_survives(hull, bundle, systemd):
    b = bundle(["sh", "-c", "/bin/helper memhog 100M; sleep 1000"])
    resources(b, memory={"limit": 32 * MiB, "swap": 32 * MiB})
    cid = hull.new_id()
    sd_create(hull, b, cid)
    hull.oci("start", cid)
    scope = f"system.slice/hull-{cid}.scope"

    def oom_kills():  # v1's memory.oom_control counts them too (oom_kill N, since Linux 4.13)
        for line in cg_file(scope, "memory.events", "memory", "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0
    wait_for(lambda: oom_kills() >= 1, "the OOM killer in the scope")
    assert hull.state(cid)["status"] == "running"
    assert show(f"hull-{cid}.scope", "ActiveState")["ActiveState"] == "active"
    stats = json.loads(hull.oci("events", "--stats", cid).stdout)
    assert stats["data"]["memory"]["usage"]["limit"] == 32 * MiB
    hull.oci("delete", "--force", cid)


@pytest.mark.systemd
def test_delete_of_a_container_whose_scope_systemd_already_removed(hull, bundle, systemd):
    b = bundle(["true"])
    cid = hull.new_id()
    sd_create(hull, b, cid)
    hull.oci("start", cid)
    hull.wait_status(cid, "stopped")
    # Its last process gone, systemd stops the scope by itself.
    wait_for(lambda: not units(f"hull-{cid}"), "systemd to stop the empty scope")
    hull.oci("kill", "--all", cid, "KILL")
    hull.oci("delete", cid)


@pytest.mark.systemd
def test_friendly_run_uses_systemd_and_inspect_names_the_unit(friendly, bundle, systemd):
    rootfs = bundle(["true"]).rootfs
    # The tests' own HULL_CGROUP_PARENT is a cgroupfs path, which keeps cgroupfs; a slice as the
    # parent lets podman's rule choose systemd.
    cid = friendly.detach("--cgroup-parent", "system.slice", "--memory", "64m", "--pids-limit", "16",
                          "--rootfs", rootfs, "sleep", "1000")
    info = friendly.inspect(cid)
    unit = info["systemdUnit"]
    assert info["cgroupManager"] == "systemd" and unit == f"hull-{cid}.scope", info
    props = show(unit, MEMORY_PROP, "TasksMax", "Slice", "ActiveState")
    assert props == {MEMORY_PROP: str(64 * MiB), "TasksMax": "16", "Slice": "system.slice",
                     "ActiveState": "active"}, props
    assert f"systemd unit {unit}" in friendly("inspect", cid).stdout
    friendly("rm", "-f", cid)
    wait_for(lambda: not units(unit), f"unit {unit} to go")
    # --cgroup-manager cgroupfs keeps hull's own tree; systemd with a cgroupfs parent is refused.
    cid = friendly.detach("--cgroup-parent", "system.slice", "--cgroup-manager", "cgroupfs", "--rootfs", rootfs,
                          "sleep", "1000")
    info = friendly.inspect(cid)
    assert info["cgroupManager"] == "cgroupfs" and info["systemdUnit"] == "", info
    friendly("rm", "-f", cid)
    p = friendly("run", "--cgroup-manager", "systemd", "--rootfs", rootfs, "true", check=False)
    one_line_error(p, "with --cgroup-manager systemd the parent is a slice")


@pytest.mark.systemd
@pytest.mark.parametrize("step", ["create.cgroup", "create.cloned", "create.saved", "create.ready"])
def test_create_killed_at_each_step_leaves_a_delete_that_stops_the_unit(hull, bundle, systemd, tmp_path, step):
    """hull-fault SIGKILLs itself at the step (tests/integration/test_faults.py); the unit
    recorded beside the state (recovery.json, state.json) lets `delete --force` stop it."""
    from hulltest import BUILD, HULL_OCI
    faulty = BUILD / "hull-fault"
    if not faulty.exists():
        pytest.skip(f"{faulty} is not built")
    link = tmp_path / "fault-bin" / "hull-oci"
    link.parent.mkdir()
    link.symlink_to(faulty)
    b = bundle(["sleep", "1000"])
    cid = hull.new_id()
    hull.hull_oci = link
    try:
        p = hull.oci("--systemd-cgroup", "create", "--bundle", b.path, cid, check=False, files=True,
                     env=dict(os.environ, HULL_FAULT_AT=step))
    finally:
        hull.hull_oci = HULL_OCI
    assert p.returncode == -9, (step, p.returncode, p.stderr)
    hull.oci("delete", "--force", cid)
    wait_for(lambda: not units(f"hull-{cid}"), f"unit hull-{cid}.scope to go")
    assert not [d for d in CG.rglob(f"hull-{cid}.scope")], f"a cgroup of hull-{cid}.scope is left"
