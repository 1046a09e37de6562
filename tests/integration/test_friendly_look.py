"""inspect, stats and check agree with what the kernel's files say."""
import json
import os
import re
import select
import subprocess
import time
from pathlib import Path

from hulltest import HULL, wait_for

NS_KINDS = ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"]


def test_inspect_json_agrees_with_proc(friendly):
    cid = friendly.detach("--name", "seen", "--memory", "64m", "host", "sh", "-c", "sleep 600 & sleep 601")
    deadline = time.time() + 30
    while len(friendly.inspect("seen")["processes"]) < 3 and time.time() < deadline:
        time.sleep(0.05)
    st = friendly.inspect("seen")
    pid = st["pid"]
    assert st["id"] == cid and st["name"] == "seen" and st["state"] == "running"
    # namespaces: the inode of /proc/PID/ns/X, the host's of our own, "own" when they differ
    ns = {n["type"]: n for n in st["namespaces"]}
    assert sorted(ns) == sorted(NS_KINDS)
    for kind, n in ns.items():
        assert n["inode"] == os.stat(f"/proc/{pid}/ns/{kind}").st_ino
        assert n["hostInode"] == os.stat(f"/proc/self/ns/{kind}").st_ino
        assert n["own"] == (n["inode"] != n["hostInode"])
        assert n["isolates"]
    assert [k for k in NS_KINDS if ns[k]["own"]] == ["pid", "mnt", "uts", "ipc", "net", "cgroup"]
    # processes: host PID -> container PID, as NSpid says
    procs = st["processes"]
    assert len(procs) == 3
    for p in procs:
        nspid = [l for l in Path(f"/proc/{p['hostPid']}/status").read_text().splitlines() if l.startswith("NSpid:")]
        assert nspid[0].split()[1:] == [str(p["hostPid"]), str(p["containerPid"])]
    assert {p["containerPid"] for p in procs if p["hostPid"] == pid} == {1}
    # cgroups: the files, as the kernel has them
    memory = next(c for c in st["cgroups"] if c["hierarchy"] == "memory")
    assert memory["path"] == str(friendly.cgroup_dir("memory", cid))
    for name in ("memory.limit_in_bytes", "memory.max_usage_in_bytes"):
        assert memory["files"][name] == (Path(memory["path"]) / name).read_text().strip()
    assert memory["files"]["memory.limit_in_bytes"] == str(64 << 20)
    procs_file = sorted(int(x) for x in memory["files"]["cgroup.procs"].split("; "))
    assert procs_file == sorted(p["hostPid"] for p in procs)
    # mounts: the container's mountinfo
    mounts = {m["destination"]: m for m in st["mounts"]}
    want = [l.split()[4] for l in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
    assert [m["destination"] for m in st["mounts"]] == want
    assert mounts["/"]["type"] == "overlay" and mounts["/proc"]["type"] == "proc"
    # users: no user namespace, so the identity map
    assert st["uidMap"] == [{"inside": 0, "outside": 0, "count": 4294967295}]
    friendly("rm", "-f", "seen")


def test_inspect_shows_the_user_mapping(friendly):
    friendly.detach("--name", "mapped", "--userns", "private", "host", "sleep", "600")
    st = friendly.inspect("mapped")
    assert st["uidMap"] == [{"inside": 0, "outside": 100000, "count": 65536}]
    assert Path(f"/proc/{st['pid']}/uid_map").read_text().split() == ["0", "100000", "65536"]
    assert next(n for n in st["namespaces"] if n["type"] == "user")["own"]
    text = friendly("inspect", "mapped").stdout
    assert "uid 0-65535 inside = 100000-165535 on the host" in text
    friendly("rm", "-f", "mapped")


def test_inspect_in_plain_words(friendly):
    cid = friendly.detach("--name", "words", "host", "sleep", "600")
    pid = friendly.pid("words")
    text = friendly("inspect", "words").stdout
    assert text.startswith(f"Container words ({cid})\n")
    assert f"PID:      {pid} on the host, 1 inside" in text
    pidns = os.stat(f"/proc/{pid}/ns/pid").st_ino
    line = next(l for l in text.splitlines() if l.strip().startswith("pid "))
    assert str(pidns) in line and f"own (host: {os.stat('/proc/self/ns/pid').st_ino})" in line
    assert "the container's first process is PID 1" in line
    assert re.search(rf"^\s+{pid}\s+->\s+1\s+sleep 600$", text, re.M)
    assert "shared with the host" in next(l for l in text.splitlines() if l.strip().startswith("user "))
    assert str(friendly.cgroup_dir("memory", cid)) in text
    friendly("rm", "-f", "words")
    # a container that does not run: its record, no namespaces
    friendly.run("--name", "stopped", "host", "true", keep=True)
    st = friendly.inspect("stopped")
    assert st["state"] == "exited" and st["pid"] == 0 and st["namespaces"] == [] and st["exitCode"] == 0
    assert "It does not run" in friendly("inspect", "stopped").stdout
    friendly("rm", "stopped")


def test_stats_no_stream_json_agrees_with_the_cgroup_files(friendly):
    busy = friendly.detach("--name", "busy", "--cpus", "0.5", "--memory", "128m", "--pids-limit", "50",
                           "host", "sh", "-c", "while :; do :; done")
    idle = friendly.detach("--name", "idle", "host", "sh", "-c", "sleep 600 & sleep 601")
    # both running what they were started for: the loop has used CPU, sh has forked its two sleeps
    wait_for(lambda: int((friendly.cgroup_dir("cpuacct", busy) / "cpuacct.usage").read_text()) > 50_000_000,
             "busy to use 50 ms of CPU")
    wait_for(lambda: int((friendly.cgroup_dir("pids", idle) / "pids.current").read_text()) == 3, "idle's 3 processes")
    rows = {r["name"]: r for r in json.loads(friendly("stats", "--no-stream", "--format", "json").stdout)}
    assert sorted(rows) == ["busy", "idle"]
    b, i = rows["busy"], rows["idle"]
    mem = friendly.cgroup_dir("memory", busy)
    assert b["memLimit"] == int((mem / "memory.limit_in_bytes").read_text()) == 128 << 20
    assert b["memLimited"] and not i["memLimited"]
    usage = int((mem / "memory.usage_in_bytes").read_text())
    assert 0 < b["memUsage"] and abs(b["memUsage"] - usage) < 4 << 20
    assert b["pids"] == int((friendly.cgroup_dir("pids", busy) / "pids.current").read_text()) == 1
    assert b["pidsLimit"] == 50
    assert i["pids"] == int((friendly.cgroup_dir("pids", idle) / "pids.current").read_text()) == 3
    cpuacct = int((friendly.cgroup_dir("cpuacct", busy) / "cpuacct.usage").read_text())
    assert 0 < b["cpuUsageNs"] <= cpuacct
    assert 5 < b["cpuPercent"] <= 60  # held at half a CPU
    assert i["cpuPercent"] < 5
    # a single container by name, and the table
    [only] = json.loads(friendly("stats", "--no-stream", "--format", "json", "idle").stdout)
    assert only["id"] == idle
    table = friendly("stats", "--no-stream", "busy").stdout.splitlines()
    assert table[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
    assert table[1].startswith(busy[:12]) and "128MiB" in table[1] and "/ 50" in table[1]
    friendly("rm", "-f", "busy", "idle")


def mounted_controllers():
    out = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        dash = fields.index("-")
        if fields[dash + 1] == "cgroup":
            out.update(o for o in fields[dash + 3].split(",") if "=" not in o and o not in ("rw", "ro"))
    return out


def test_check_agrees_with_the_host(friendly):
    facts = {f["name"]: f for f in json.loads(friendly("check", "--json").stdout)}
    for kind in NS_KINDS:
        assert facts[f"{kind} namespace"]["ok"] == os.path.exists(f"/proc/self/ns/{kind}")
    layout = facts["cgroup layout"]
    assert layout["ok"]
    cgroup2 = "cgroup2" in Path("/proc/self/mountinfo").read_text()
    v1 = mounted_controllers()
    assert layout["detail"].startswith("hybrid" if v1 and cgroup2 else "v1" if v1 else "v2")
    for c in ("cpu", "memory", "pids", "blkio", "cpuset", "freezer", "devices", "hugetlb"):
        if v1:
            assert facts[f"{c} controller"]["ok"] == (c in v1), c
    assert facts["overlayfs"]["ok"] == ("overlay" in Path("/proc/filesystems").read_text())
    status = Path("/proc/self/status").read_text()
    assert facts["seccomp"]["ok"] == ("Seccomp:" in status)
    knob = Path("/proc/sys/kernel/unprivileged_userns_clone")
    if knob.exists() and knob.read_text().strip() == "0":
        assert not facts["user namespaces for unprivileged users"]["ok"]
    for f in facts.values():
        assert f["neededFor"], f
    # the text: one line each, the missing ones named with what they cost
    p = friendly("check", check=False)
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert "  ok      pid namespace: supported" in lines
    for f in facts.values():
        if not f["ok"]:
            assert f"{f['name']} -> {f['neededFor']}" in p.stdout


def test_stats_live_view_refreshes_every_second(friendly):
    friendly.detach("--name", "live", "host", "sleep", "600")
    p = subprocess.Popen([str(HULL), "stats", "live"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=friendly.env)
    # 3.5 s from its first table (a loaded machine may take seconds to start it)
    assert select.select([p.stdout], [], [], 30)[0], "no table in 30 s"
    time.sleep(3.5)
    p.terminate()
    out, err = p.communicate(timeout=30)
    tables = [l for l in out.splitlines() if l.startswith("CONTAINER ID")]
    assert 2 <= len(tables) <= 4, out
    assert out.count("live") == len(tables)
    friendly("rm", "-f", "live")
    # once the container is gone, the view of it ends by itself
    assert friendly("stats", "--no-stream", "--format", "json").stdout == "[]\n"
