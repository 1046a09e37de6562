"""Issue 15: the friendly face as a docker user finds it. Each test is something a docker user
typed and expects to work as docker's does: exit codes, the first line of an error, the shape of
the output."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL, wait_for


# 1. `hull`, `hull --version`, `hull version`, unknown verbs.

def test_bare_hull_prints_the_help_and_exits_0(friendly):
    p = friendly(check=False)
    assert p.returncode == 0 and p.stderr == ""
    assert "hull: containers from namespaces and cgroups" in p.stdout
    for verb in ("run", "ps", "logs", "inspect", "tour"):
        assert re.search(rf"^\s+{verb}\b", p.stdout, re.M), verb
    assert friendly("help").stdout == p.stdout
    # `hull help VERB` is `hull VERB --help`, as docker's
    assert friendly("help", "logs").stdout == friendly("logs", "--help").stdout


def test_version_is_what_hull_oci_version_prints(friendly):
    want = friendly("oci", "--version").stdout
    assert want.startswith("hull version ")
    for args in (["--version"], ["version"], ["-v"]):
        p = friendly(*args)
        assert (p.returncode, p.stdout, p.stderr) == (0, want, ""), args


def test_an_unknown_verb_is_named_with_the_closest_one(friendly):
    # docker: "docker: unknown command: docker frobnicate", exit 1
    p = friendly("frobnicate", check=False)
    assert p.returncode == 1 and p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0] == 'hull: unknown command "frobnicate"'
    assert lines[1].startswith('Did you mean "hull ') and lines[-1] == "Run 'hull --help' for the list of commands."
    p = friendly("--debug", "psx", "-a", check=False)
    assert p.returncode == 1
    assert p.stderr.splitlines()[:2] == ['hull: unknown command "psx"', 'Did you mean "hull ps"?']
    assert friendly("inpsect", "x", check=False).stderr.splitlines()[1] == 'Did you mean "hull inspect"?'
    # a known verb with a bad flag is still CLI11's answer, exit 125 (docker's for a bad flag)
    p = friendly("ps", "--frob", check=False)
    assert p.returncode == 125 and "--frob" in p.stderr


# 4. The OOM report names the container as its user does.

def test_the_oom_report_names_the_container_not_its_64_hex_id(friendly):
    p = friendly.run("--name", "hog", "--memory", "32m", "--memory-swap", "32m", "host",
                     "sh", "-c", "head -c 200m /dev/zero | tail")
    assert p.returncode == 137
    assert "hull: container hog: out of memory: killed by the kernel at its 32 MiB limit" in p.stderr, p.stderr
    assert not re.search(r"[0-9a-f]{64}", p.stderr)
    # detached: the report is the monitor's, by name too, in what inspect shows (never in the
    # container's own log: that is what the container wrote)
    friendly.detach("--name", "hog2", "--memory", "32m", "--memory-swap", "32m", "host",
                    "sh", "-c", "head -c 200m /dev/zero | tail")
    friendly.wait_state("hog2", "exited")
    deadline = time.time() + 10
    while friendly.monitors() and time.time() < deadline:  # its last words said
        time.sleep(0.02)
    st = friendly.inspect("hog2")
    said = [m["message"] for m in st["monitorMessages"]]
    assert [m for m in said if "out of memory" in m] == [
        "container hog2: out of memory: killed by the kernel at its 32 MiB limit"], st
    assert "out of memory" not in friendly.log("hog2")
    friendly("rm", "hog2")


# 6. `hull update` that the kernel refuses says why, in the flag's words.

@pytest.mark.skipif(not Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(),
                    reason="cgroup v1's memory controller refuses a limit below usage (v2 OOM-kills instead)")
def test_update_memory_below_usage_says_the_usage_and_why(friendly):
    # 40 MiB held in a shell variable, no swap to push it to
    friendly.detach("--name", "holder", "--memory", "128m", "--memory-swap", "128m", "host", "sh", "-c",
                    "x=$(head -c 40m /dev/zero | tr '\\0' a); echo held; sleep 600")
    friendly.wait_log("holder", "held", timeout=30)
    p = friendly("update", "--memory", "8m", "holder", check=False)
    assert p.returncode == 1 and p.stdout == ""
    first = p.stderr.splitlines()[0]
    assert re.fullmatch(r"hull: update holder: --memory 8MiB: the container uses [0-9.]+MiB now and the kernel "
                        r"could not reclaim enough to fit \(memory in use and nowhere to swap it\); give a limit "
                        r"above its usage, or free memory in the container first", first), first
    assert "/sys/fs/cgroup" not in p.stderr and "Device or resource busy" not in p.stderr
    # the limit in force did not change, nor the stored one
    assert friendly.inspect("holder")["state"] == "running"
    assert (friendly.cgroup_dir("memory", friendly.inspect("holder")["id"]) /
            "memory.limit_in_bytes").read_text().strip() == str(128 << 20)
    # EINVAL: memory+swap below the memory limit
    p = friendly("update", "--memory-swap", "64m", "holder", check=False)
    assert p.returncode == 1
    assert p.stderr == ("hull: update holder: --memory-swap: 67108864 is below --memory 134217728 (on cgroup v1 "
                        "swap counts memory plus swap)\n"), p.stderr
    assert "/sys/fs/cgroup" not in p.stderr
    friendly("rm", "-f", "holder")


# 7. hull-oci run of a terminal spec with no terminal on stdin.

def test_oci_run_with_terminal_true_and_no_terminal_refuses_at_once(hull, bundle):
    b = bundle(["sh", "-c", "echo hi"], terminal=True)
    t = time.time()
    p = hull.run(b, None, timeout=20, stdin=subprocess.DEVNULL)
    assert time.time() - t < 5
    assert p.returncode == 1 and p.stdout == ""
    assert ("process.terminal is true but stdin is not a terminal: set \\\"terminal\\\": false in config.json, "
            "run from a terminal, or pass --console-socket") in p.stderr or \
           ('process.terminal is true but stdin is not a terminal: set "terminal": false in config.json, '
            'run from a terminal, or pass --console-socket') in p.stderr, p.stderr
    # -d without a console socket: runc's refusal, as before
    p = hull.run(b, None, "-d", timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and "--console-socket is required" in p.stderr


# 2. A --device-* limit on a device the container does not write to.

def disk_of(path):
    st = os.stat(path)
    sys = Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    if not sys.exists():
        pytest.skip(f"{path} is on no block device")
    if (sys / "partition").exists():
        sys = sys.resolve().parent
    for line in (sys / "uevent").read_text().splitlines():
        if line.startswith("DEVNAME="):
            return "/dev/" + line[8:]
    pytest.skip(f"no device name for {sys}")


def test_device_write_bps_on_a_device_no_writable_mount_uses_says_so_once(friendly, tmp_path):
    disk = disk_of(tmp_path)
    p = friendly.run("--device-write-bps", f"{disk}:2mb", "--device-write-iops", f"{disk}:100", "host", "true")
    assert p.returncode == 0
    warnings = [l for l in p.stderr.splitlines() if "throttle" in l or "slows nothing" in l]
    assert len(warnings) == 1, p.stderr
    assert warnings[0].startswith(f"hull: warning: --device-write-bps {disk}: no writable mount of this container "
                                  f"is on {disk} (its / is an overlay in memory)"), warnings[0]
    assert "-v HOST_DIR:/data" in warnings[0]
    # a writable bind mount on that disk: the limit applies, nothing said
    data = tmp_path / "data"
    data.mkdir()
    p = friendly.run("--device-write-bps", f"{disk}:2mb", "-v", f"{data}:/data", "host", "true")
    assert (p.returncode, p.stderr) == (0, "")
    # read-only: reads are throttled, writes are not
    p = friendly.run("--device-write-bps", f"{disk}:2mb", "-v", f"{data}:/data:ro", "host", "true")
    assert "slows nothing" in p.stderr
    p = friendly.run("--device-read-bps", f"{disk}:2mb", "-v", f"{data}:/data:ro", "host", "true")
    assert (p.returncode, p.stderr) == (0, "")
    assert "-v HOST_DIR:/data" in friendly("run", "--help").stdout


def test_device_write_bps_through_a_bind_mount_really_throttles(friendly, tmp_path):
    disk = disk_of(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    p = friendly.run("--device-write-bps", f"{disk}:4mb", "-v", f"{data}:/data", "host",
                     "dd", "if=/dev/zero", "of=/data/out.img", "bs=1M", "count=8", "oflag=direct", timeout=60)
    assert p.returncode == 0, p.stderr
    m = re.search(r"copied, ([0-9.]+) s", p.stderr)
    assert m and float(m.group(1)) >= 8 / 4 * 0.8, p.stderr


# 9. logs: --tail, --since, --until, -t, and stdout and stderr apart.

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"


def test_logs_stdout_and_stderr_apart_tail_timestamps_since_until(friendly):
    friendly.detach("--name", "talker", "host", "sh", "-c",
                    "for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 1.2; echo late; printf partial")
    friendly.wait_state("talker", "exited")
    p = friendly("logs", "talker")
    assert (p.stdout, p.stderr) == ("out1\nout2\nout3\nlate\npartial", "err1\nerr2\nerr3\n")
    # `2>/dev/null` keeps stdout only, as docker's json-file driver
    p = subprocess.run(f"{HULL} logs talker 2>/dev/null", shell=True, capture_output=True, text=True,
                       env=friendly.env)
    assert p.stdout == "out1\nout2\nout3\nlate\npartial"
    # --tail counts lines of both streams, the last ones
    p = friendly("logs", "--tail", "3", "talker")
    assert (p.stdout, p.stderr) == ("late\npartial", "err3\n")
    assert friendly("logs", "-n", "0", "talker").stdout == ""
    assert friendly("logs", "--tail", "all", "talker").stdout.count("\n") == 4
    # -t: each line after its RFC 3339 time with nanoseconds
    p = friendly("logs", "-t", "talker")
    lines = p.stdout.splitlines()
    assert all(re.fullmatch(STAMP + r" (out\d|late|partial)", l) for l in lines), lines
    assert all(re.fullmatch(STAMP + r" err\d", l) for l in p.stderr.splitlines())
    late = next(l.split()[0] for l in lines if l.endswith(" late"))
    # --since a line's own time includes it; --until before it excludes it
    p = friendly("logs", "--since", late, "talker")
    assert (p.stdout, p.stderr) == ("late\npartial", "")
    # The logger stamps a line when it reads it, each stream from its own pipe: out3 can be
    # stamped after err3. --until the latest stamp before "late" keeps all six lines.
    stamped = friendly("logs", "-t", "talker")
    early = [l.split()[0] for l in stamped.stdout.splitlines() + stamped.stderr.splitlines()
             if not l.endswith((" late", " partial"))]
    p = friendly("logs", "--until", max(early), "talker")
    assert p.stdout == "out1\nout2\nout3\n" and p.stderr == "err1\nerr2\nerr3\n"
    assert friendly("logs", "--since", "1h", "talker").stdout.startswith("out1\n")
    assert friendly("logs", "--until", "1h", "talker").stdout == ""
    assert friendly("logs", "--since", "2000-01-01", "talker").stdout.startswith("out1")
    p = friendly("logs", "--since", "yesterday", "talker", check=False)
    assert p.returncode == 1 and p.stderr.splitlines()[0].startswith('hull: --since: "yesterday" is not a time')
    p = friendly("logs", "--tail", "ten", "talker", check=False)
    assert p.returncode == 1 and p.stderr == 'hull: --tail: "ten" is not a number of lines (or all)\n'
    friendly("rm", "talker")


def test_a_foreground_run_is_logged_too_and_its_output_unchanged(friendly):
    p = friendly.run("--name", "fg", "host", "sh", "-c", "echo o1; echo e1 >&2; printf o2; exit 4", keep=True)
    assert (p.returncode, p.stdout, p.stderr) == (4, "o1\no2", "e1\n")
    p = friendly("logs", "fg")
    assert (p.stdout, p.stderr) == ("o1\no2", "e1\n")
    # a reader that goes away stops the writer as it would without the log in between
    t = time.time()
    p = subprocess.run(f"{HULL} run --rm host yes | head -1", shell=True, capture_output=True, text=True,
                       env=friendly.env, timeout=30)
    assert p.stdout == "y\n" and time.time() - t < 10
    # with -t the terminal is relayed as before
    friendly("rm", "fg")


def test_logs_follow_streams_and_ends_with_the_container(friendly):
    friendly.detach("--name", "ticker", "host", "sh", "-c", "for i in 1 2 3; do echo t$i; echo e$i >&2; sleep 0.3; done")
    friendly.wait_log("ticker", "e1")
    p = friendly("logs", "-f", "--tail", "1", "ticker", timeout=20)
    assert p.stdout.endswith("t3\n") and p.stderr.endswith("e3\n")
    assert len(p.stdout.splitlines()) + len(p.stderr.splitlines()) <= 5
    friendly.wait_state("ticker", "exited")
    friendly("rm", "ticker")


# 10. inspect: several, -f templates, docker's fields.

def test_inspect_several_with_docker_fields_and_templates(friendly, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    a = friendly.detach("--name", "a", "--label", "tier=web", "-v", f"{data}:/data:ro", "--memory", "64m",
                        "--cpus", "0.5", "host", "sleep", "600")
    b = friendly.detach("--name", "b", "host", "sleep", "601")
    arr = json.loads(friendly("inspect", "--json", "a", "b").stdout)
    assert [x["Id"] for x in arr] == [a, b] and [x["Name"] for x in arr] == ["/a", "/b"]
    x = arr[0]
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "HostConfig", "Mounts", "Config",
                "NetworkSettings"):
        assert key in x, key
    st = x["State"]
    assert (st["Status"], st["Running"], st["Paused"], st["OOMKilled"], st["ExitCode"]) == ("running", True, False,
                                                                                            False, 0)
    assert st["Pid"] == x["pid"] > 0 and st["StartedAt"] == x["started"]
    assert (x["Path"], x["Args"]) == ("sleep", ["600"])
    assert x["Config"]["Cmd"] == ["sleep", "600"] and x["Config"]["Labels"] == {"tier": "web"}
    assert x["Config"]["Hostname"] == a[:12] and x["Config"]["Image"] == "host"
    assert x["HostConfig"]["Memory"] == 64 << 20 and x["HostConfig"]["NanoCpus"] == 500000000
    assert x["HostConfig"]["Binds"] == [f"{data}:/data:ro"] and x["HostConfig"]["NetworkMode"] == "none"
    assert x["Mounts"] == [{"Type": "bind", "Source": str(data), "Destination": "/data", "Mode": "ro", "RW": False,
                            "Propagation": "rprivate"}]
    assert x["NetworkSettings"]["IPAddress"] == "" and x["NetworkSettings"]["Networks"] == {}
    # hull's own explanations are still there
    assert x["id"] == a and x["namespaces"] and x["cgroups"]
    # -f: one line per container
    p = friendly("inspect", "-f", "{{.State.Pid}} {{.Name}}", "a", "b")
    assert p.stdout == f"{friendly.pid('a')} /a\n{friendly.pid('b')} /b\n"
    assert json.loads(friendly("inspect", "--format", "{{json .Config}}", "a").stdout)["Cmd"] == ["sleep", "600"]
    assert friendly("inspect", "-f", "{{.Config.Labels.tier}}|{{index .Config.Labels \"tier\"}}|{{len .Args}}|"
                    "{{upper .State.Status}}|{{join .Config.Cmd \",\"}}|{{.Config.Cmd}}", "a").stdout == \
        "web|web|1|RUNNING|sleep,600|[sleep 600]\n"
    assert friendly("inspect", "-f", "{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", "a").stdout == "/data:false \n"
    assert friendly("inspect", "-f", "{{if .State.Running}}up{{else}}down{{end}}", "a").stdout == "up\n"
    # what exists is printed, what does not is an error line, exit 1 (docker's)
    p = friendly("inspect", "-f", "{{.Name}}", "a", "nosuch", "b", check=False)
    assert p.returncode == 1 and p.stdout == "/a\n/b\n" and p.stderr == "hull: no such container: nosuch\n"
    p = friendly("inspect", "-f", "{{.Nope}}", "a", check=False)
    assert p.returncode == 1 and p.stderr.startswith("hull: --format: {{.Nope}}: no field Nope in . (there are: Id, ")
    p = friendly("inspect", "-f", "{{.State.Pid", "a", check=False)
    assert p.returncode == 1 and p.stderr == "hull: --format: {{ at 0 is never closed by }}\n"
    p = friendly("inspect", "-f", "{{frob .Id}}", "a", check=False)
    assert p.returncode == 1 and 'no function "frob"' in p.stderr
    friendly("rm", "-f", "a", "b")


# 11. ps: --filter, --format, -n, -l, -s; top with ps options.

def test_ps_filter_format_last_latest_size(friendly):
    web = friendly.detach("--name", "web", "--label", "tier=front", "host", "sleep", "600")
    time.sleep(0.01)
    friendly.run("--name", "done", "--label", "tier=back", "host", "true", keep=True)
    names = lambda *a: friendly("ps", *a, "--format", "{{.Names}}").stdout.split()
    assert names() == ["web"] and names("-a") == ["done", "web"]
    assert friendly("ps", "--filter", "name=we", "-q").stdout == web[:12] + "\n"
    assert names("-a", "--filter", "status=exited") == ["done"]
    assert names("--filter", "status=exited") == ["done"]  # a status filter looks at every state
    assert names("-a", "--filter", "label=tier") == ["done", "web"]
    assert names("-a", "--filter", "label=tier=back") == ["done"]
    assert names("-a", "--filter", "label=tier=back", "--filter", "label=tier=front") == ["done", "web"]
    assert names("-a", "--filter", "label=tier=back", "--filter", "name=web") == []
    assert names("--filter", "network=none") == ["web"]
    assert names("-l") == ["done"] and names("-n", "2") == ["done", "web"] and names("-n", "1") == ["done"]
    out = friendly("ps", "-a", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}").stdout.splitlines()
    assert out[0].split() == ["CONTAINER", "ID", "NAMES", "LABELS"] and len(out) == 3
    assert out[2].split() == [web[:12], "web", "tier=front"]
    assert friendly("ps", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.State}}").stdout == \
        f'{web[:12]} host "sleep 600" running\n'
    table = friendly("ps", "-s").stdout.splitlines()
    assert table[0].split()[-1] == "SIZE" and table[1].split()[-1] == "0B"
    # --format json: docker's, one object per line with docker's keys.
    lines = friendly("ps", "-a", "--format", "json").stdout.splitlines()
    rows = [json.loads(l) for l in lines]
    assert len(rows) == 2 and {"ID", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status",
                               "Size", "Names", "Labels", "Mounts", "LocalVolumes", "Networks"} == set(rows[1])
    assert (rows[1]["ID"], rows[1]["Names"], rows[1]["Image"], rows[1]["Command"], rows[1]["State"],
            rows[1]["Labels"], rows[1]["LocalVolumes"]) == (web[:12], "web", "host", '"sleep 600"', "running",
                                                            "tier=front", "0")
    assert rows[0]["Names"] == "done" and rows[0]["State"] == "exited" and rows[0]["Status"].startswith("Exited (0)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC", rows[1]["CreatedAt"])
    # hull's own array, as before, under --json.
    assert [c["id"] for c in json.loads(friendly("ps", "--json").stdout)] == [web]
    p = friendly("ps", "--filter", "colour=red", check=False)
    assert p.returncode == 1 and p.stderr.startswith('hull: --filter: "colour=red" is not a filter')
    p = friendly("ps", "--format", "{{.Nope}}", check=False)
    assert p.returncode == 1 and "no field Nope" in p.stderr
    # top CONTAINER [ps options]
    top = friendly("top", "web", "-o", "pid,comm").stdout.splitlines()
    assert top[0].split() == ["PID", "COMMAND"] and [l.split()[1] for l in top[1:]] == ["sleep"]
    assert int(top[1].split()[0]) == friendly.pid("web")
    friendly("rm", "-f", "web", "done")


# 12. --label (above), rename, wait, port (test_friendly_network), events.

def test_rename_and_wait(friendly):
    cid = friendly.detach("--name", "old", "host", "sh", "-c", "sleep 0.5; exit 7")
    friendly("rename", "old", "new")
    assert friendly.inspect("new")["Name"] == "/new" and friendly.inspect(cid[:10])["name"] == "new"
    p = friendly("inspect", "old", check=False)
    assert p.returncode == 1 and p.stderr == "hull: no such container: old\n"
    friendly.detach("--name", "other", "host", "sleep", "600")
    p = friendly("rename", "new", "other", check=False)
    assert p.returncode == 1 and p.stderr.startswith('hull: the name "other" is already in use by container ')
    p = friendly("rename", "new", "bad name", check=False)
    assert p.returncode == 1 and "bad name" in p.stderr
    # the old name is free again
    friendly.detach("--name", "old", "host", "true")
    t = time.time()
    assert friendly("wait", "new", "old", timeout=30).stdout == "7\n0\n"
    assert time.time() - t < 10
    # --rm: gone by the time it exits, its code is still known (from its "die" event)
    friendly("run", "-d", "--rm", "--name", "brief", "host", "sh", "-c", "sleep 0.5; exit 5")
    assert friendly("wait", "brief", timeout=20).stdout == "5\n"
    friendly("rm", "-f", "new", "old", "other")


def test_events_stream_create_start_die_oom_destroy(friendly):
    since = time.time()
    friendly.run("--name", "ev", "--label", "k=v", "host", "sh", "-c", "exit 3", keep=True)
    friendly.run("--name", "hog", "--memory", "32m", "--memory-swap", "32m", "host", "sh", "-c",
                 "head -c 100m /dev/zero | tail")
    friendly("rm", "ev")
    until = time.time() + 0.5
    p = friendly("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--format", "json", timeout=20)
    events = [json.loads(l) for l in p.stdout.splitlines()]
    got = [(e["Actor"]["Attributes"]["name"], e["Action"]) for e in events]
    assert got == [("ev", "create"), ("ev", "start"), ("ev", "die"), ("hog", "create"), ("hog", "start"),
                   ("hog", "oom"), ("hog", "die"), ("hog", "destroy"), ("ev", "destroy")], got
    die = events[2]
    assert die["Type"] == "container" and die["status"] == "die" and die["from"] == "host"
    assert die["Actor"]["Attributes"] == {"image": "host", "name": "ev", "k": "v", "exitCode": "3"}
    assert die["id"] == die["Actor"]["ID"] and len(die["id"]) == 64 and die["time"] == die["timeNano"] // 10**9
    # --filter and a template
    p = friendly("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--filter", "container=hog",
                 "--filter", "event=die", "--filter", "event=oom", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert p.stdout == "oom hog\ndie hog\n"
    # docker's text line
    p = friendly("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--filter", "event=create",
                 "--filter", "label=k=v")
    assert re.fullmatch(STAMP + r" container create [0-9a-f]{64} \(image=host, name=ev, k=v\)\n", p.stdout), p.stdout
    # live: started before the container, it sees it
    ev = subprocess.Popen([str(HULL), "events", "--format", "{{.Action}}", "--filter", "container=live",
                           "--until", f"{time.time() + 30:.3f}"], stdout=subprocess.PIPE, text=True, env=friendly.env)
    try:
        # it has the log open, at its end (what it reads from there is live), before the run
        log = friendly.state / "events.log"

        def watching():
            for fd in os.listdir(f"/proc/{ev.pid}/fd"):
                try:
                    if os.readlink(f"/proc/{ev.pid}/fd/{fd}") == str(log):
                        pos = int(Path(f"/proc/{ev.pid}/fdinfo/{fd}").read_text().split()[1])
                        return pos == log.stat().st_size
                except OSError:
                    pass
            return False
        wait_for(watching, "hull events to open events.log")
        friendly.run("--name", "live", "host", "true")
        # the four lines, then it is stopped (its --until is only there to end it if not)
        out = [ev.stdout.readline() for _ in range(4)]
    finally:
        ev.terminate()
        ev.communicate(timeout=30)
    assert [l.strip() for l in out] == ["create", "start", "die", "destroy"]
    p = friendly("events", "--filter", "bogus=1", check=False)
    assert p.returncode == 1 and p.stderr.startswith('hull: --filter: "bogus=1" is not a filter')


# 13. named volumes.

def test_named_volumes_created_on_first_use_kept_and_refused_while_used(friendly):
    p = friendly.run("-v", "vol1:/data", "host", "sh", "-c", "echo kept > /data/f")
    assert p.returncode == 0, p.stderr
    vols = json.loads(friendly("volume", "inspect", "vol1").stdout)
    assert len(vols) == 1 and vols[0]["Name"] == "vol1" and vols[0]["Driver"] == "local"
    mp = Path(vols[0]["Mountpoint"])
    assert mp == friendly.state / "volumes" / "vol1" / "_data" and (mp / "f").read_text() == "kept\n"
    # a second container sees what the first wrote; :ro is read-only
    assert friendly.run("-v", "vol1:/d:ro", "host", "cat", "/d/f").stdout == "kept\n"
    p = friendly.run("-v", "vol1:/d:ro", "host", "sh", "-c", "echo x > /d/g")
    assert p.returncode != 0 and not (mp / "g").exists()
    assert friendly("volume", "create", "vol2", "--label", "a=b").stdout == "vol2\n"
    assert friendly("volume", "create", "vol2").stdout == "vol2\n"  # idempotent, as docker's
    assert friendly("volume", "ls", "-q").stdout == "vol1\nvol2\n"
    assert friendly("volume", "ls").stdout.splitlines()[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert friendly("volume", "inspect", "-f", "{{.Labels.a}}", "vol2").stdout == "b\n"
    # in use by a container (even stopped): refused, naming it
    cid = friendly.detach("--name", "user", "-v", "vol2:/v", "host", "true")
    friendly.wait_state("user", "exited")
    p = friendly("volume", "rm", "vol2", check=False)
    assert p.returncode == 1 and p.stderr == f"hull: remove vol2: volume is in use - [{cid[:12]}]\n"
    # prune takes only the unused one
    assert friendly("volume", "prune", "-f").stdout.splitlines()[:2] == ["Deleted Volumes:", "vol1"]
    assert friendly("volume", "ls", "-q").stdout == "vol2\n"
    friendly("rm", "user")
    assert friendly("volume", "rm", "vol2").stdout == "vol2\n"
    assert friendly("volume", "ls", "-q").stdout == ""
    p = friendly("volume", "rm", "vol2", check=False)
    assert p.returncode == 1 and p.stderr == "hull: no such volume: vol2\n"
    p = friendly("volume", "create", "x", check=False)
    assert p.returncode == 1 and "volume name" in p.stderr
    assert not list((friendly.state / "volumes").iterdir())


def test_cp_both_ways_resolved_inside_the_containers_root(friendly, tmp_path):
    cid = friendly.detach("--name", "box", "host", "sh", "-c",
                          "mkdir -p /tmp/d/sub && echo in > /tmp/d/sub/f && chmod 640 /tmp/d/sub/f && "
                          "ln -s /etc/shadow /tmp/d/esc && ln -s / /tmp/root && echo ready > /tmp/ready; "
                          "exec sleep 600")
    deadline = time.time() + 30
    while friendly("exec", "box", "cat", "/tmp/ready", check=False).stdout != "ready\n":
        assert time.time() < deadline
        time.sleep(0.05)
    out = tmp_path / "out"
    assert friendly("cp", "box:/tmp/d", out).stdout == ""
    assert (out / "sub" / "f").read_text() == "in\n" and (out / "sub" / "f").stat().st_mode & 0o777 == 0o640
    assert os.readlink(out / "esc") == "/etc/shadow"  # a link stays a link, never followed
    # into an existing directory: under its own name
    friendly("cp", "box:/tmp/d/sub/f", out)
    assert (out / "f").read_text() == "in\n"
    # a symlink on the way resolves inside the container's root: its hostname file, not the host's
    friendly("cp", "box:/tmp/root/etc/hostname", tmp_path / "hn")
    assert (tmp_path / "hn").read_text() == cid[:12] + "\n"
    up = tmp_path / "up.txt"
    up.write_text("up\n")
    friendly("cp", up, "box:/tmp/")
    friendly("cp", up, "box:/tmp/renamed")
    friendly("cp", out, "box:/tmp/tree")
    assert friendly("exec", "box", "cat", "/tmp/up.txt", "/tmp/renamed", "/tmp/tree/sub/f").stdout == "up\nup\nin\n"
    # through the container's link to its own /: lands in the container, never on the host
    friendly("cp", up, "box:/tmp/root/tmp/via-link")
    assert friendly("exec", "box", "cat", "/tmp/via-link").stdout == "up\n"
    assert not Path("/tmp/via-link").exists()
    p = friendly("cp", "box:/nope", tmp_path / "x", check=False)
    assert p.returncode == 1 and p.stderr == "hull: cp: box:/nope: no such file or directory\n"
    p = friendly("cp", "box:/tmp/up.txt", "box:/tmp/x", check=False)
    assert p.returncode == 1 and p.stderr == "hull: cp: copying between containers is not supported\n"
    p = friendly("cp", up, tmp_path / "y", check=False)
    assert p.returncode == 1 and p.stderr.startswith("hull: cp: one side must be CONTAINER:PATH")
    p = friendly("cp", "nosuch:/x", tmp_path / "y", check=False)
    assert p.returncode == 1 and p.stderr == "hull: no such container: nosuch\n"
    friendly("rm", "-f", "box")
