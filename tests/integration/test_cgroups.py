"""Resource limits (issue 3): the tutorial's CPU, memory, pids and block-I/O exercises through
hull against the real kernel, on whatever layout the host has (v1, hybrid, or pure v2 in the
VM suite). Every test is marked `cgroup`; the framework's leak check then makes sure no cgroup
directory of the container is left in any hierarchy."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL_OCI, wait_for

pytestmark = pytest.mark.cgroup

CG = Path("/sys/fs/cgroup")
MiB = 1 << 20


def _layout():
    """{v1 controller: mount point} and the cgroup2 mount, read from mountinfo."""
    v1, unified = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2":
                unified = unified or Path(fields[4])
            elif fstype == "cgroup":
                for o in opts:
                    if o in ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
                             "net_cls", "net_prio", "rdma"):
                        v1.setdefault(o, Path(fields[4]))
    return v1, unified


V1, UNIFIED = _layout()
PURE_V2 = not V1
HYBRID = bool(V1) and UNIFIED is not None


def all_hierarchies():
    v1_mounts = {p for p in V1.values()}
    named = [p for p in CG.iterdir() if p.is_dir() and not p.is_symlink() and p not in v1_mounts
             and (p / "cgroup.procs").exists()] if not PURE_V2 else []
    return sorted(v1_mounts | set(named)) if not PURE_V2 else [CG]


def cgdir(controller, path):
    """The container's directory for a controller: its v1 hierarchy, else the cgroup2 mount."""
    base = V1.get(controller, UNIFIED)
    return base / path.lstrip("/")


def read(controller, path, v1_file, v2_file):
    f = cgdir(controller, path) / (v1_file if controller in V1 else v2_file)
    return f.read_text().strip()


def cpu_usage_ns(path):
    if "cpuacct" in V1:
        return int((cgdir("cpuacct", path) / "cpuacct.usage").read_text())
    for line in (cgdir("cpu", path) / "cpu.stat").read_text().splitlines():
        k, v = line.split()
        if k == "usage_usec":
            return int(v) * 1000
    raise AssertionError("no usage_usec in cpu.stat")


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


def rate(path, seconds):
    """CPU seconds the cgroup got per wall second, over `seconds`."""
    u0, t0 = cpu_usage_ns(path), time.monotonic()
    time.sleep(seconds)
    return (cpu_usage_ns(path) - u0) / 1e9 / (time.monotonic() - t0)


def wait_procs(path, n):
    """Until the cgroup holds n processes (sh forks its children after start returns)."""
    procs = cgdir("pids", path) / "cgroup.procs"
    wait_for(lambda: len(procs.read_text().split()) >= n, f"{n} processes in {path}")


def start_burner(hull, bundle, **res):
    b = bundle(["/bin/helper", "cpuburn", "0"])
    resources(b, **res)
    cid = hull.create(b)
    hull.oci("start", cid)
    return cid


# --- the tutorial's exercises ---

def test_cpu_quota_holds_a_busy_loop_to_half_a_cpu(hull, bundle):
    b = bundle(["/bin/helper", "cpuburn", "2"])
    resources(b, cpu={"quota": 50000, "period": 100000})
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    m = re.search(r"cpu_ms=(\d+) wall_ms=(\d+)", p.stdout)
    cpu_ms, wall_ms = int(m[1]), int(m[2])
    # 50 ms per 100 ms period; one period of slack for where the 2 s start and end.
    assert cpu_ms / wall_ms <= 0.58, p.stdout
    assert cpu_ms > 100, p.stdout  # it did run


def test_memory_hog_is_oom_killed_and_reported(hull, bundle):
    b = bundle(["/bin/helper", "memhog", "300M"])
    # swap = limit: no swap to escape to (v1 counts memory+swap, v2 gets swap.max 0).
    resources(b, memory={"limit": 256 * MiB, "swap": 256 * MiB})
    cid = hull.new_id("web")
    p = hull.run(b, cid)
    assert p.returncode == 137, (p.stdout, p.stderr)
    assert f"container {cid}: out of memory: killed by the kernel at its 256 MiB limit" in p.stderr
    assert "memhog done" not in p.stdout
    reached = [int(x) for x in re.findall(r"memhog (\d+) MiB", p.stdout)]
    assert reached and max(reached) <= 256, p.stdout


def test_init_killed_by_oom_during_create_says_so(hull, bundle):
    b = bundle(["true"])
    resources(b, memory={"limit": 64 << 10, "swap": 64 << 10})
    cid = hull.new_id()
    p = hull.oci("create", "--bundle", b.path, cid, check=False)
    one_line_error(p, f"create {cid}: container init was killed before it was ready: out of memory: "
                      "killed by the kernel at its 64 KiB limit")


def test_fork_loop_stops_at_the_pids_limit(hull, bundle):
    b = bundle(["/bin/helper", "forkloop", "1000"])
    resources(b, pids={"limit": 20})
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    m = re.search(r"forked (\d+) error=(.*)", p.stdout)
    # The helper itself is one of the 20 tasks.
    assert int(m[1]) == 19, p.stdout
    assert m[2] == "Resource temporarily unavailable", p.stdout


@pytest.fixture
def loop_device(tmp_path):
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as f:
        f.truncate(16 * MiB)
    dev = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "--detach", dev], check=True)


def read_from_device(hull, bundle, dev, throttle):
    st = os.stat(dev)
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    b = bundle(["/bin/helper", "odirect", dev, "3M"])
    b.linux["devices"] = [{"path": dev, "type": "b", "major": major, "minor": minor}]
    b.linux.setdefault("resources", {}).setdefault("devices", []).append(
        {"allow": True, "type": "b", "major": major, "minor": minor, "access": "r"})
    if throttle:
        b.linux["resources"]["blockIO"] = {"throttleReadBpsDevice": [
            {"major": major, "minor": minor, "rate": throttle}]}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, (p.stdout, p.stderr)
    m = re.search(r"bytes=(\d+) ms=(\d+)", p.stdout)
    return int(m[1]), int(m[2])


def test_read_throttle_holds_direct_reads_to_the_limit(hull, bundle, loop_device):
    got, ms = read_from_device(hull, bundle, loop_device, throttle=1 * MiB)
    assert got == 3 * MiB
    # 3 MiB at 1 MiB/s: about 3 s; the kernel may let the first slice through early.
    assert got / (ms / 1000) <= 1.25 * MiB, f"{got} bytes in {ms} ms"
    # The same read without the limit is much faster, so the limit is what slowed it.
    got, free_ms = read_from_device(hull, bundle, loop_device, throttle=None)
    assert free_ms < ms / 2, (free_ms, ms)


def test_cpuset_pins_the_container_to_cpu_0(hull, bundle):
    b = bundle(["sh", "-c", "grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/cpuset/cpuset.cpus "
                "/sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null; true"])
    resources(b, cpu={"cpus": "0", "mems": "0"})
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "Cpus_allowed_list:\t0\n" in p.stdout


def test_pause_stops_progress_and_resume_restores_it(hull, bundle):
    cid = start_burner(hull, bundle)
    path = f"/hull/{cid}"
    assert rate(path, 0.5) > 0.05
    hull.oci("pause", cid)
    assert hull.state(cid)["status"] == "paused"
    time.sleep(0.1)
    assert rate(path, 0.5) < 0.01
    p = hull.oci("pause", cid, check=False)
    one_line_error(p, f"cannot pause container {cid}: it is paused, not running")
    hull.oci("resume", cid)
    assert hull.state(cid)["status"] == "running"
    assert rate(path, 0.5) > 0.05
    hull.oci("delete", "--force", cid)


def test_delete_force_of_a_paused_container_leaves_nothing(hull, bundle):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    cid = hull.create(b)
    hull.oci("start", cid)
    wait_procs(f"/hull/{cid}", 3)
    hull.pids.update(int(p) for p in (cgdir("pids", f"/hull/{cid}") / "cgroup.procs").read_text().split())
    hull.oci("pause", cid)
    assert hull.state(cid)["status"] == "paused"
    hull.oci("delete", "--force", cid)


def test_update_changes_a_running_containers_limits(hull, bundle):
    cid = start_burner(hull, bundle, memory={"limit": 512 * MiB})
    path = f"/hull/{cid}"
    before = rate(path, 1.0)
    hull.oci("update", "--cpu-quota", "20000", "--cpu-period", "100000", "--memory", "128m", "--memory-swap",
             "128m", "--pids-limit", "10", "--cpu-share", "512", cid)
    if "cpu" in V1:
        assert read("cpu", path, "cpu.cfs_quota_us", "") == "20000"
        assert read("cpu", path, "cpu.shares", "") == "512"
    else:
        assert read("cpu", path, "", "cpu.max") == "20000 100000"
        assert read("cpu", path, "", "cpu.weight") == str(1 + (512 - 2) * 9999 // 262142)
    assert read("memory", path, "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    assert read("pids", path, "pids.max", "pids.max") == "10"
    time.sleep(0.3)
    after = rate(path, 1.0)
    assert after <= 0.25, (before, after)
    # JSON on stdin, as podman and containerd send it; absent fields keep their values.
    hull.oci("update", "-r", "-", cid, input=json.dumps({"pids": {"limit": 7}}))
    assert read("pids", path, "pids.max", "pids.max") == "7"
    assert read("memory", path, "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    # A bad value is refused in one line and changes nothing.
    p = hull.oci("update", "--memory", "-5", cid, check=False)
    one_line_error(p, "linux.resources.memory.limit: -5")
    assert read("memory", path, "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    hull.oci("delete", "--force", cid)


def test_events_stats_shows_usage(hull, bundle):
    cid = start_burner(hull, bundle, memory={"limit": 64 * MiB}, pids={"limit": 50})
    time.sleep(0.3)
    ev = json.loads(hull.oci("events", "--stats", cid).stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    assert d["cpu"]["usage"]["total"] > 0
    assert d["memory"]["usage"]["usage"] > 0
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert d["pids"] == {"current": 1, "limit": 50}
    hull.oci("delete", "--force", cid)


def test_events_streams_stats_and_reports_oom_as_it_happens(hull, bundle):
    b = bundle(["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; /bin/helper memhog 100M; sleep 1000"])
    resources(b, memory={"limit": 32 * MiB, "swap": 32 * MiB})
    cid = hull.create(b)
    hull.oci("start", cid)
    ev = subprocess.Popen([str(HULL_OCI), "--root", str(hull.root), "events", "--interval", "200ms", cid],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(ev.stdout.readline())
        assert first["type"] == "stats"
        (b.rootfs / "tmp" / "go").touch()
        deadline = time.time() + 20
        while time.time() < deadline:
            e = json.loads(ev.stdout.readline())
            if e["type"] == "oom":
                assert e == {"type": "oom", "id": cid}
                break
        else:
            raise AssertionError("no oom event")
        hull.oci("delete", "--force", cid)
        # events ends by itself once the container is gone.
        assert ev.wait(timeout=30) == 0, ev.stderr.read()
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()


def test_ps_lists_the_containers_processes(hull, bundle):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    cid = hull.create(b)
    hull.oci("start", cid)
    init = hull.state(cid)["pid"]
    wait_procs(f"/hull/{cid}", 3)
    pids = json.loads(hull.oci("ps", "--format", "json", cid).stdout)
    assert init in pids and len(pids) == 3
    table = hull.oci("ps", cid).stdout.splitlines()
    assert table[0].split()[:2] == ["UID", "PID"]
    assert sorted(int(l.split()[1]) for l in table[1:]) == sorted(pids)
    table = hull.oci("ps", cid, "-o", "pid,comm").stdout.splitlines()
    assert table[0].split() == ["PID", "COMMAND"]
    assert sorted(l.split()[1] for l in table[1:]) == ["sh", "sleep", "sleep"]
    hull.oci("delete", "--force", cid)


# --- every field lands in its file; zero means unset ---

def test_resources_land_in_their_cgroup_files(hull, bundle):
    b = bundle(["sleep", "1000"])
    resources(b, memory={"limit": 200 * MiB, "reservation": 100 * MiB, "swap": 300 * MiB},
              cpu={"shares": 512, "quota": 30000, "period": 200000, "cpus": "0", "mems": "0"},
              pids={"limit": 42})
    cid = hull.create(b)
    path = f"/hull/{cid}"
    assert read("memory", path, "memory.limit_in_bytes", "memory.max") == str(200 * MiB)
    assert read("memory", path, "memory.soft_limit_in_bytes", "memory.low") == str(100 * MiB)
    # swap is memory+swap on v1, swap alone on v2 (300 - 200 MiB).
    assert read("memory", path, "memory.memsw.limit_in_bytes", "memory.swap.max") == \
        str((300 if "memory" in V1 else 100) * MiB)
    if "cpu" in V1:
        assert read("cpu", path, "cpu.shares", "") == "512"
        assert read("cpu", path, "cpu.cfs_quota_us", "") == "30000"
        assert read("cpu", path, "cpu.cfs_period_us", "") == "200000"
    else:
        assert read("cpu", path, "", "cpu.weight") == "20"
        assert read("cpu", path, "", "cpu.max") == "30000 200000"
    assert read("cpuset", path, "cpuset.cpus", "cpuset.cpus") == "0"
    assert read("pids", path, "pids.max", "pids.max") == "42"
    # The same path in every hierarchy, the container's init in each.
    init = str(hull.state(cid)["pid"])
    for h in all_hierarchies():
        procs = (h / path.lstrip("/") / "cgroup.procs").read_text().split()
        assert init in procs, h
    hull.oci("delete", cid)


def test_zero_means_unset_as_docker_sends_it(hull, bundle):
    b = bundle(["sleep", "1000"])
    resources(b, memory={"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
              cpu={"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0},
              pids={"limit": 0}, blockIO={"weight": 0})
    cid = hull.create(b)
    path = f"/hull/{cid}"
    assert int(read("memory", path, "memory.limit_in_bytes", "memory.max").replace("max", str(1 << 63))) > 1 << 60
    assert read("pids", path, "pids.max", "pids.max") == "max"
    if "cpu" in V1:
        assert read("cpu", path, "cpu.shares", "") == "1024"
        assert read("cpu", path, "cpu.cfs_quota_us", "") == "-1"
    else:
        assert read("cpu", path, "", "cpu.weight") == "100"
    hull.oci("delete", cid)


def test_hugetlb_limit_lands_where_the_controller_lives(hull, bundle):
    sizes = [p.name for p in Path("/sys/kernel/mm/hugepages").iterdir()] if Path(
        "/sys/kernel/mm/hugepages").exists() else []
    if "hugepages-2048kB" not in sizes:
        pytest.skip("no 2 MiB huge pages on this host")
    if "hugetlb" not in V1 and "hugetlb" not in (UNIFIED / "cgroup.controllers").read_text().split():
        pytest.skip("no hugetlb controller on this host")
    b = bundle(["sleep", "1000"])
    resources(b, hugepageLimits=[{"pageSize": "2MB", "limit": 4 * MiB}])
    cid = hull.create(b)
    # On this project's hybrid hosts hugetlb is no v1 hierarchy's: it lives in the cgroup2 mount.
    assert read("hugetlb", f"/hull/{cid}", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max") == str(4 * MiB)
    ev = json.loads(hull.oci("events", "--stats", cid).stdout)
    assert ev["data"]["hugetlb"]["2MB"]["failcnt"] == 0
    hull.oci("delete", cid)


# --- bad values: one clear line, nothing left behind ---

def test_cpu_burst_and_idle_land(hull, bundle):
    b = bundle(["sleep", "1000"])
    resources(b, cpu={"quota": 50000, "period": 100000, "burst": 20000})
    cid = hull.create(b)
    assert read("cpu", f"/hull/{cid}", "cpu.cfs_burst_us", "cpu.max.burst") == "20000"
    hull.oci("delete", cid)
    b = bundle(["sleep", "1000"])
    resources(b, cpu={"idle": 1})
    cid = hull.create(b)
    assert read("cpu", f"/hull/{cid}", "cpu.idle", "cpu.idle") == "1"
    hull.oci("delete", cid)


def test_memory_extras_land_on_v1_and_are_ignored_with_a_warning_on_v2(hull, bundle):
    b = bundle(["sleep", "1000"])
    resources(b, memory={"limit": 64 * MiB, "kernelTCP": 8 * MiB, "swappiness": 10, "disableOOMKiller": True,
                         "useHierarchy": True})
    cid = hull.new_id()
    p = hull.oci("create", "--bundle", b.path, cid)
    hull.pids.add(hull.state(cid)["pid"])
    path = f"/hull/{cid}"
    if "memory" in V1:
        d = cgdir("memory", path)
        assert (d / "memory.kmem.tcp.limit_in_bytes").read_text().strip() == str(8 * MiB)
        assert (d / "memory.swappiness").read_text().strip() == "10"
        assert "oom_kill_disable 1" in (d / "memory.oom_control").read_text()
        assert (d / "memory.use_hierarchy").read_text().strip() == "1"
    else:
        assert "linux.resources.memory.kernelTCP: cgroup v2 counts socket memory in memory.max; ignored" in p.stderr
        assert "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer" in p.stderr
    hull.oci("delete", cid)


def test_check_before_update_refuses_a_limit_below_usage(hull, bundle):
    b = bundle(["/bin/helper", "memhog", "48M", "hold"])
    resources(b, memory={"limit": 128 * MiB})
    cid = hull.create(b)
    hull.oci("start", cid)
    path = f"/hull/{cid}"
    deadline = time.time() + 30
    while int(read("memory", path, "memory.usage_in_bytes", "memory.current")) < 48 * MiB:
        assert time.time() < deadline, "the hog never got its memory"
        time.sleep(0.05)
    p = hull.oci("update", "-r", "-", cid, check=False,
                 input=json.dumps({"memory": {"limit": 16 * MiB, "checkBeforeUpdate": True}}))
    one_line_error(p, f"linux.resources.memory.limit: {16 * MiB} is below the current usage")
    assert read("memory", path, "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    assert hull.state(cid)["status"] == "running"
    hull.oci("delete", "--force", cid)


def test_every_throttle_lands_for_its_device(hull, bundle, loop_device):
    st = os.stat(loop_device)
    dev = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    t = lambda rate: [{"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev), "rate": rate}]
    b = bundle(["sleep", "1000"])
    resources(b, blockIO={"throttleReadBpsDevice": t(1000000), "throttleWriteBpsDevice": t(2000000),
                          "throttleReadIOPSDevice": t(300), "throttleWriteIOPSDevice": t(400)})
    cid = hull.create(b)
    path = f"/hull/{cid}"
    if "blkio" in V1:
        d = cgdir("blkio", path)
        for f, v in (("read_bps", 1000000), ("write_bps", 2000000), ("read_iops", 300), ("write_iops", 400)):
            assert (d / f"blkio.throttle.{f}_device").read_text().strip() == f"{dev} {v}", f
    else:
        assert (cgdir("io", path) / "io.max").read_text().strip() == \
            f"{dev} rbps=1000000 wbps=2000000 riops=300 wiops=400"
    hull.oci("delete", cid)


BAD = [
    ({"memory": {"limit": -5}}, "linux.resources.memory.limit: -5 is invalid"),
    ({"memory": {"limit": 256 * MiB, "swap": 128 * MiB}}, f"linux.resources.memory.swap: {128 * MiB} is below"),
    ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness: 101 is outside 0..100"),
    ({"cpu": {"cpus": "99"}}, 'linux.resources.cpu.cpus: "99": write'),
    ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares: 1 is outside 2..262144"),
    ({"cpu": {"period": 10}}, "linux.resources.cpu.period: 10 is outside"),
    ({"cpu": {"quota": -7}}, "linux.resources.cpu.quota: -7 is invalid"),
    ({"blockIO": {"weight": 5}}, "linux.resources.blockIO.weight: 5 is outside 10..1000"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 1, "minor": 3, "rate": 1000}]}},
     'linux.resources.blockIO.throttleReadBpsDevice[0]: 1:3 1000'),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]},
     'linux.resources.hugepageLimits[0].pageSize: "3MB": not a huge page size of this host'),
    ({"network": {"classID": 1048577}}, "linux.resources.network.classID"),
    ({"pids": {"limit": "ten"}}, "linux.resources.pids.limit"),
    ({"network": {"priorities": [{"name": "lo", "priority": 5}]}}, "linux.resources.network.priorities"),
    ({"rdma": {"mlx4_0": {"hcaHandles": 2}}}, "linux.resources.rdma"),
]
if not PURE_V2:
    BAD.append(({"unified": {"memory.max": "1G"}}, "linux.resources.unified.memory.max: cgroup v2 files need a pure"))
    if "cpu" in V1:
        BAD.append(({"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}},
                    "linux.resources.cpu.realtimeRuntime: 10000: write"))
else:
    BAD.append(({"cpu": {"realtimeRuntime": 10000}}, "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime"))
    BAD.append(({"unified": {"nosuch.file": "1"}}, "linux.resources.unified.nosuch.file"))


@pytest.mark.parametrize("res,message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_values_give_one_clear_line_and_leave_nothing(hull, bundle, res, message):
    b = bundle(["true"])
    resources(b, **res)
    cid = hull.new_id()
    p = hull.oci("run", "--bundle", b.path, cid, check=False)
    one_line_error(p, message)
    assert hull.oci("list", "-q").stdout.strip() == ""


# --- cgroupsPath, and removal on delete ---

@pytest.mark.parametrize("kind", ["absolute", "relative", "nested"])
def test_cgroups_path_is_the_same_in_every_hierarchy_and_removed(hull, bundle, kind):
    b = bundle(["sleep", "1000"])
    want = {"absolute": f"/{hull.prefix}-abs", "relative": f"{hull.prefix}-rel",
            "nested": f"/{hull.prefix}-p/inner"}[kind]
    b.linux["cgroupsPath"] = want
    b.save()
    cid = hull.create(b)
    path = "/" + want.lstrip("/")
    init = str(hull.state(cid)["pid"])
    for h in all_hierarchies():
        assert init in (h / path.lstrip("/") / "cgroup.procs").read_text().split(), h
    hull.oci("delete", "--force", cid)
    for h in all_hierarchies():
        assert not (h / path.lstrip("/")).exists(), h
    if kind == "nested":
        # The parent did not exist: hull made it, so hull removes it (issue 16, defect 5).
        for h in all_hierarchies():
            assert not (h / f"{hull.prefix}-p").exists(), h


def test_the_last_container_out_takes_hulls_own_parent_with_it(hull, bundle):
    # /hull/<id>: the leaf goes in every hierarchy, and /hull with it once no container is left
    # in it: nothing of hull's stays on the host. Other tests' containers may hold /hull (or
    # be between their mkdir of it and of their leaf), so what must hold is that no empty
    # /hull stays behind.
    b = bundle(["true"])
    cid = hull.new_id()
    assert hull.run(b, cid).returncode == 0

    def no_empty_parent():
        for h in all_hierarchies():
            assert not (h / "hull" / cid).exists(), h
            try:
                if not any(p.is_dir() for p in (h / "hull").iterdir()):
                    return False
            except FileNotFoundError:  # gone: the last container out took it
                pass
        return True

    deadline = time.time() + 30
    while not no_empty_parent():
        assert time.time() < deadline, "an empty /hull stayed behind"
        time.sleep(0.05)


def test_a_parent_that_existed_stays(hull, bundle):
    # A parent the caller made is the caller's: only what hull made goes.
    parents = [h / f"{hull.prefix}-mine" for h in all_hierarchies()]
    for d in parents:
        d.mkdir()
    try:
        b = bundle(["true"])
        b.linux["cgroupsPath"] = f"/{hull.prefix}-mine/made/{hull.new_id()}"
        b.save()
        assert hull.run(b).returncode == 0
        for d in parents:
            assert d.exists() and not (d / "made").exists(), d
    finally:
        for d in parents:
            d.rmdir()


def cgroup_in_use(hull, bundle, annotations=None):
    """A created container in /PREFIX-shared, and a second bundle given the same cgroupsPath."""
    a = bundle(["sleep", "1000"])
    a.linux["cgroupsPath"] = f"/{hull.prefix}-shared"
    a.save()
    first = hull.create(a)
    b = bundle(["true"])
    b.linux["cgroupsPath"] = f"/{hull.prefix}-shared"
    if annotations:
        b.config["annotations"] = annotations
    b.save()
    return first, b


def test_a_cgroup_in_use_is_shared_with_a_warning(hull, bundle):
    # runc's rule: a second container given the first one's cgroupsPath runs there, warned.
    first, b = cgroup_in_use(hull, bundle)
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "warning" in p.stderr, p.stderr
    assert f"linux.cgroupsPath: cgroup /{hull.prefix}-shared is not empty" in p.stderr, p.stderr
    # Deleting the second left the first and its cgroup alone.
    assert hull.state(first)["status"] == "created"
    assert any((h / f"{hull.prefix}-shared").is_dir() for h in all_hierarchies())
    hull.oci("delete", "--force", first)


def test_a_cgroup_in_use_is_refused_when_the_config_wants_its_own(hull, bundle):
    # The stricter rule on request: refused before anything runs, and the failure kills
    # nothing of the first container.
    first, b = cgroup_in_use(hull, bundle, {"io.github.hull.cgroup.exclusive": "true"})
    p = hull.run(b)
    assert p.returncode != 0
    assert f"linux.cgroupsPath: cgroup /{hull.prefix}-shared is not empty: 1 process(es) run in it" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert hull.state(first)["status"] == "created"
    hull.oci("delete", "--force", first)


def test_delete_kills_stragglers_in_every_hierarchy(hull, bundle):
    # Without a PID namespace, killing the init leaves its children running in the cgroup.
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    b.remove_namespace("pid")
    b.save()
    cid = hull.create(b)
    hull.oci("start", cid)
    path = f"/hull/{cid}"
    wait_procs(path, 3)
    procs = [int(p) for p in (cgdir("pids", path) / "cgroup.procs").read_text().split()]
    assert len(procs) == 3
    hull.pids.update(procs)
    os.kill(hull.state(cid)["pid"], 9)
    hull.wait_status(cid, "stopped")
    stragglers = [int(p) for p in (cgdir("pids", path) / "cgroup.procs").read_text().split()]
    assert len(stragglers) == 2
    hull.oci("delete", cid)
    for p in stragglers:
        assert not Path(f"/proc/{p}").exists() or Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] == "Z"
    for h in all_hierarchies():
        assert not (h / path.lstrip("/")).exists(), h


def test_kill_all_reaches_processes_outside_the_inits_reach(hull, bundle):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    b.remove_namespace("pid")
    b.save()
    cid = hull.create(b)
    hull.oci("start", cid)
    wait_procs(f"/hull/{cid}", 3)
    procs = [int(p) for p in (cgdir("pids", f"/hull/{cid}") / "cgroup.procs").read_text().split()]
    assert len(procs) == 3
    hull.pids.update(procs)
    hull.oci("kill", "--all", cid, "KILL")
    hull.wait_status(cid, "stopped")
    deadline = time.time() + 30
    while time.time() < deadline and (cgdir("pids", f"/hull/{cid}") / "cgroup.procs").read_text().strip():
        time.sleep(0.05)
    assert (cgdir("pids", f"/hull/{cid}") / "cgroup.procs").read_text().strip() == ""
    hull.oci("delete", cid)
