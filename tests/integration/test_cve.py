"""Regression tests for every known container-runtime CVE of the kind hull could repeat, one
per CVE and named after it. Each builds the malicious rootfs or config the attack needs and
checks from the host that nothing escaped."""
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL, wait_for

# tests/vm/run-suite runs them on pure cgroup v2 as well: containers are cloned into their
# cgroup there (CLONE_INTO_CGROUP), and the cgroup mounts and namespaces differ.
pytestmark = pytest.mark.cve


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


@pytest.fixture(scope="module")
def hull_without_debug_info(tmp_path_factory):
    """hull as it ships: the same code, without the DWARF of a RelWithDebInfo build (145 MB of
    a 150 MB binary). A copy per test of the full binary filled the cgroup v2 VM's /tmp (a
    tmpfs in 2 GB of RAM: tests/vm) with ENOSPC, and cost the host 2 GB of writes."""
    d = tmp_path_factory.mktemp("hull-stripped")
    subprocess.run(["strip", "--strip-debug", "-o", d / "hull", HULL], check=True)
    yield d / "hull"
    shutil.rmtree(d)


@pytest.fixture
def hull_copy(hull, tmp_path, hull_without_debug_info):
    """Runs a copy of hull: the 2019-5736 tests attack the binary, so never the real one."""
    d = tmp_path / "hullbin"
    d.mkdir()
    shutil.copy2(hull_without_debug_info, d / "hull")
    (d / "hull-oci").symlink_to("hull")
    hull.hull_oci = d / "hull-oci"
    yield d / "hull"
    # Clean up with the real binary: the copy is what a failing test lets the attacker spoil.
    hull.hull_oci = HULL.parent / "hull-oci"
    (d / "hull").unlink()  # pytest keeps each test's tmp_path until the session ends


def ns_pid(host_pid):
    """The pid of a process in its own PID namespace (the last NSpid field)."""
    for line in Path(f"/proc/{host_pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid")


# CVE-2019-5736: a process in the container opens /proc/PID/exe of a runtime process (hull's
# binary on the host) and, once hull exits, reopens it for writing.

def test_cve_2019_5736_the_waiting_init_is_out_of_reach(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    # The attacker: waits for a pid in /tmp/target, then goes for its exe.
    attacker = bundle(["sh", "-c", "helper exe-attack /tmp/target 4 > /tmp/result"], readonly=False)
    a = hull.create(attacker)
    hull.oci("start", a)
    a_pid = hull.state(a)["pid"]
    # The victim's init joins the attacker's PID namespace and waits there, still hull.
    victim = bundle(["sleep", "10"])
    victim.add_namespace("pid", f"/proc/{a_pid}/ns/pid")
    victim.save()
    v = hull.create(victim)
    v_pid = hull.state(v)["pid"]
    assert os.path.samefile(f"/proc/{v_pid}/exe", hull_copy)
    (attacker.rootfs / "tmp" / "target").write_text(str(ns_pid(v_pid)))
    # Its clock (4 s) runs from when it read the pid: a slow create (the emulated VM) no longer
    # ends it, and its PID namespace with the victim, before the start.
    # it has tried the waiting init's exe at least once before the start
    wait_for(lambda: (attacker.rootfs / "tmp" / "target.tried").exists(), "the attacker's first try")
    # Start the victim: every hull process exits, so a held fd could now write the binary.
    hull.oci("start", v)
    hull.wait_status(a, "stopped", timeout=30)
    result = (attacker.rootfs / "tmp" / "result").read_text().splitlines()
    # While the victim waited as hull, /proc/PID/exe was refused; what the attacker got after
    # the start (the sealed stub, or the container's own program) was never hull's binary,
    # and could not be written.
    assert result[0].startswith("refused: EACCES x"), result
    st = os.stat(hull_copy)
    assert not any(l.startswith(f"opened: {st.st_dev}:{st.st_ino} ") for l in result), result
    assert "write: ok" not in result, result
    assert sha256(hull_copy) == before
    hull.oci("delete", "--force", v)
    hull.oci("delete", a)


def test_cve_2019_5736_a_proc_self_exe_entrypoint_never_runs_hull(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    b = bundle(["/evil"])
    (b.rootfs / "evil").write_text("#!/proc/self/exe\n")
    (b.rootfs / "evil").chmod(0o755)
    p = hull.run(b)
    # The interpreter the kernel found was the sealed stub, which refuses to be anything else;
    # hull itself (which would print "hull: ...") never ran inside the container.
    assert p.returncode == 126, (p.returncode, p.stderr)
    assert p.stderr.strip() == "hull-exec: runs only the processes of containers hull starts", p.stderr
    assert sha256(hull_copy) == before


def test_cve_2019_5736_the_container_process_exe_is_never_hull(hull, bundle, hull_copy):
    b = bundle(["sh", "-c", "readlink /proc/self/exe; sleep 30"])
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    hull.oci("start", cid)
    deadline = time.time() + 30
    while os.path.samefile(f"/proc/{pid}/exe", hull_copy) and time.time() < deadline:
        time.sleep(0.01)
    assert os.readlink(f"/proc/{pid}/exe").endswith("/bin/busybox")
    hull.oci("delete", "--force", cid)


def test_cve_2019_5736_exec(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    b = bundle(["sleep", "30"])
    (b.rootfs / "evil").write_text("#!/proc/self/exe\n")
    (b.rootfs / "evil").chmod(0o755)
    cid = hull.create(b)
    hull.oci("start", cid)
    p = hull.oci("exec", cid, "/evil", check=False)
    assert p.returncode == 126 and "hull-exec: runs only the processes" in p.stderr, p.stderr
    assert sha256(hull_copy) == before
    hull.oci("delete", "--force", cid)



# CVE-2019-5736 with CAP_SYS_PTRACE (issue 16): non-dumpable stops nobody who holds it. The
# attacker (helper exe-race) opens /proc/PID/exe of every process it can see, keeps the fds and
# keeps reopening them for writing; hull's image must be one nothing can write (a read-only
# mount, linux/self_image.h), for the init, for exec and for --init's PID 1.

def with_ptrace(b):
    caps = b.process["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        caps[kind] = sorted(set(caps.get(kind, [])) | {"CAP_SYS_PTRACE"})
    b.save()
    return b


RACE = "helper exe-race 120 /tmp/stop /tmp/ready > /tmp/race"


def start_attacker(hull, bundle):
    a = with_ptrace(bundle(["sh", "-c", RACE], readonly=False))
    cid = hull.create(a)
    hull.oci("start", cid)
    wait_for(lambda: (a.rootfs / "tmp" / "ready").exists(), "the attacker's first scan of /proc")
    return a, cid


def race_result(hull, rootfs, cid=None):
    """Stops the attacker once hull's calls are over (after a last round of writes), and
    returns its report."""
    time.sleep(0.5)
    (rootfs / "tmp" / "stop").write_text("")
    path = rootfs / "tmp" / "race"
    wait_for(lambda: path.exists() and path.read_text().endswith("done\n"), "the attacker's report", timeout=60)
    if cid:
        hull.wait_status(cid, "stopped", timeout=30)
    return path.read_text().splitlines()


def attempt(hull, hull_copy, before, *args):
    """One hull call while the attacker races; then the binary must be what it was (a written
    binary makes the next call fail in odd ways, so the checksum speaks first)."""
    err = None
    try:
        hull.oci(*args)
    except Exception as e:  # noqa: BLE001 - reported after the checksum
        err = e
    assert sha256(hull_copy) == before, f"the container wrote the host's hull binary (after {args[0]})"
    if err:
        raise err


def assert_never_written(result, hull_copy, before):
    """The attacker did reach hull's binary (the race is real), and wrote nothing of the host."""
    st = os.stat(hull_copy)
    assert any(l.startswith(f"opened: {st.st_dev}:{st.st_ino} ") for l in result), result
    assert not [l for l in result if l.startswith("write ") and l.endswith(": ok")], result
    assert f"write {st.st_dev}:{st.st_ino}: EROFS" in result, result
    assert sha256(hull_copy) == before


def test_cve_2019_5736_ptrace_exec(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    a, cid = start_attacker(hull, bundle)
    for _ in range(8):
        attempt(hull, hull_copy, before, "exec", cid, "true")
    assert_never_written(race_result(hull, a.rootfs, cid), hull_copy, before)
    hull.oci("delete", cid)


def test_cve_2019_5736_ptrace_exec_in_a_shared_pid_namespace(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    a, attacker = start_attacker(hull, bundle)
    victim = bundle(["sleep", "600"])
    victim.add_namespace("pid", f"/proc/{hull.state(attacker)['pid']}/ns/pid")
    victim.save()
    v = hull.create(victim)
    hull.oci("start", v)
    for _ in range(8):
        attempt(hull, hull_copy, before, "exec", v, "true")
    assert_never_written(race_result(hull, a.rootfs, attacker), hull_copy, before)
    hull.oci("delete", "--force", v)
    hull.oci("delete", attacker)


def test_cve_2019_5736_ptrace_create_start_in_a_shared_pid_namespace(hull, bundle, hull_copy):
    before = sha256(hull_copy)
    a, attacker = start_attacker(hull, bundle)
    victim = bundle(["true"])
    victim.add_namespace("pid", f"/proc/{hull.state(attacker)['pid']}/ns/pid")
    victim.save()
    for _ in range(3):
        v = hull.new_id()
        attempt(hull, hull_copy, before, "create", "--bundle", victim.path, v)
        attempt(hull, hull_copy, before, "start", v)
        hull.wait_status(v, "stopped", timeout=30)
        attempt(hull, hull_copy, before, "delete", v)
    assert_never_written(race_result(hull, a.rootfs, attacker), hull_copy, before)
    hull.oci("delete", attacker)


def test_cve_2019_5736_ptrace_create_start(hull, bundle, hull_copy):
    # The container's own PID namespace: the attacker gets in with exec while the init waits
    # for start (still hull's image), holds its /proc/1/exe, and writes once hull is gone.
    before = sha256(hull_copy)
    victim = bundle(["sleep", "600"], readonly=False)
    v = hull.create(victim)
    attempt(hull, hull_copy, before, "exec", "-d", "--cap", "CAP_SYS_PTRACE", v, "sh", "-c", RACE)
    wait_for(lambda: (victim.rootfs / "tmp" / "ready").exists(), "the attacker's first scan of /proc")
    attempt(hull, hull_copy, before, "start", v)
    assert_never_written(race_result(hull, victim.rootfs), hull_copy, before)
    hull.oci("delete", "--force", v)


@pytest.mark.parametrize("when", ["waiting", "started"])
def test_cve_2019_5736_hull_processes_in_a_container_run_a_read_only_image(hull, bundle, hull_copy, when):
    # The init waiting for start, and --init's PID 1 for the whole life of the container: each
    # one's exe is hull's binary, on a mount nothing in the container can make writable.
    b = bundle(["sleep", "600"])
    b.config.setdefault("annotations", {})["io.github.hull.init"] = "true"
    b.save()
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    if when == "started":
        hull.oci("start", cid)
        assert hull.oci("exec", cid, "cat", "/proc/1/comm").stdout.strip() == "hull-init"
    assert os.path.samefile(f"/proc/{pid}/exe", hull_copy)
    assert os.statvfs(f"/proc/{pid}/exe").f_flag & os.ST_RDONLY
    hull.oci("delete", "--force", cid)


def assert_runs_a_read_only_image_in_place(pid, hull_copy):
    exe = f"/proc/{pid}/exe"
    assert os.path.samefile(exe, hull_copy)
    assert os.statvfs(exe).f_flag & os.ST_RDONLY
    ino = str(os.stat(hull_copy).st_ino)
    mapped = [l.split()[0] for l in Path(f"/proc/{pid}/maps").read_text().splitlines() if l.split()[4] == ino]
    assert len(mapped) >= 3, mapped  # text, rodata, data at least
    for r in mapped:
        assert os.path.samefile(f"/proc/{pid}/map_files/{r}", hull_copy)
        assert os.statvfs(f"/proc/{pid}/map_files/{r}").f_flag & os.ST_RDONLY, r
    # Never re-executed: the re-exec's marker is not in the environment it was started with.
    assert b"_HULL_READ_ONLY_IMAGE=" not in Path(f"/proc/{pid}/environ").read_bytes()


def test_cve_2019_5736_a_writable_hull_switches_its_image_in_place(hull, bundle, hull_copy):
    # From a writable binary, hull maps itself from a read-only mount of that binary and points
    # its exe there without a second exec (linux/self_image.h): the init waiting for start, and
    # an `exec` command while its process runs, have their exe and every mapping of hull's file
    # on that mount.
    cid = hull.create(bundle(["sleep", "600"]))
    assert_runs_a_read_only_image_in_place(hull.state(cid)["pid"], hull_copy)
    hull.oci("start", cid)
    p = subprocess.Popen([str(hull.hull_oci), "--root", str(hull.root), "exec", cid, "sleep", "600"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(json.loads(hull.oci("ps", "--format", "json", cid).stdout)) > 1, "the exec'd sleep")
        assert_runs_a_read_only_image_in_place(p.pid, hull_copy)
    finally:
        p.kill()
        p.wait()
    hull.oci("delete", "--force", cid)


# CVE-2024-21626: a runtime fd to a host directory leaked into the container, reached as the
# cwd /proc/self/fd/N.

def test_cve_2024_21626_cwd_through_an_fd_is_refused(hull, bundle):
    for n in range(3, 16):
        b = bundle(["pwd"])
        b.process["cwd"] = f"/proc/self/fd/{n}"
        b.save()
        p = hull.run(b)
        assert p.returncode != 0 and p.stdout == "", (n, p.stdout)


def test_cve_2024_21626_cwd_through_a_host_directory_fd_is_refused(hull, bundle, tmp_path):
    # A directory fd of the host that does reach the init (passed with --preserve-fds): the
    # chdir itself succeeds, and the getcwd check must catch that the cwd is outside the root.
    (tmp_path / "hostdir").mkdir()
    b = bundle(["pwd"])
    b.process["cwd"] = "/proc/self/fd/3"
    b.save()
    cmd = (f"exec {hull.hull_oci} --root {hull.root} run --preserve-fds 1 --bundle {b.path} {hull.new_id()}"
           f" 3<{tmp_path}/hostdir")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout == "", p.stdout
    assert "cwd \"/proc/self/fd/3\" is outside the container's root" in p.stderr, p.stderr


def test_cve_2024_21626_no_host_fd_reaches_the_container(hull, bundle, tmp_path):
    (tmp_path / "hostdir").mkdir()
    stray = os.open(tmp_path / "hostdir", os.O_RDONLY | os.O_DIRECTORY)
    b = bundle(["helper", "fds"])
    p = hull.run(b, pass_fds=(stray,))
    os.close(stray)
    fds = dict(line.split(" -> ") for line in p.stdout.splitlines())
    # 0-2 and the directory the helper itself opened to list /proc/self/fd.
    assert set(fds) <= {"0", "1", "2", "3"}, fds
    assert all(not t.startswith(str(tmp_path)) for t in fds.values()), fds


def test_cve_2024_21626_exec(hull, bundle, tmp_path):
    (tmp_path / "hostdir").mkdir()
    cid = hull.create(bundle(["sleep", "30"]))
    hull.oci("start", cid)
    for n in range(3, 16):
        p = hull.oci("exec", "--cwd", f"/proc/self/fd/{n}", cid, "pwd", check=False)
        assert p.returncode != 0 and p.stdout == "", (n, p.stdout)
    # a host directory passed on with --preserve-fds: the chdir works, the getcwd check does not
    cmd = (f"exec {hull.hull_oci} --root {hull.root} exec --preserve-fds 1 --cwd /proc/self/fd/3 {cid} pwd"
           f" 3<{tmp_path}/hostdir")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert p.returncode == 255 and p.stdout == "", p.stdout
    assert "cwd \"/proc/self/fd/3\" is outside the container's root" in p.stderr, p.stderr
    # no fd of hull's reaches the exec'd process
    stray = os.open(tmp_path / "hostdir", os.O_RDONLY | os.O_DIRECTORY)
    p = hull.oci("exec", cid, "helper", "fds", pass_fds=(stray,))
    os.close(stray)
    fds = dict(line.split(" -> ") for line in p.stdout.splitlines())
    assert set(fds) <= {"0", "1", "2", "3"}, fds
    assert all(not t.startswith(str(tmp_path)) for t in fds.values()), fds
    hull.oci("delete", "--force", cid)


# CVE-2021-30465, CVE-2024-45310: a mount destination (or a parent of it) that is a symlink
# must be resolved inside the rootfs, never on the host.

@pytest.mark.parametrize("relative", [False, True])
def test_cve_2021_30465_symlink_destination_stays_in_the_rootfs(hull, bundle, tmp_path, relative):
    host = tmp_path / "host-target"
    host.mkdir()
    source = tmp_path / "volume"
    source.mkdir()
    (source / "from-the-volume").write_text("x")
    b = bundle(["ls", "/evil"])
    link = ("../" * 12 + str(host).lstrip("/")) if relative else str(host)
    (b.rootfs / "evil").symlink_to(link)
    b.config["mounts"].append({"destination": "/evil", "type": "bind", "source": str(source), "options": ["rbind"]})
    b.config["root"]["readonly"] = False
    b.save()
    p = hull.run(b)
    # Inside, /evil (still the symlink) leads to the bind: it landed in the rootfs.
    assert p.stdout.split() == ["from-the-volume"], p.stderr
    assert list(host.iterdir()) == [] and mounts_under(host) == []
    assert (b.rootfs / str(host).lstrip("/")).is_dir()


def test_cve_2024_45310_symlinked_parents_create_nothing_on_the_host(hull, bundle, tmp_path):
    host = tmp_path / "host-target"
    host.mkdir()
    b = bundle(["true"])
    (b.rootfs / "evil").symlink_to(str(host))
    b.config["mounts"].append({"destination": "/evil/a/b", "type": "tmpfs", "source": "tmpfs"})
    b.config["mounts"].append({"destination": "/evil/c/file", "type": "bind", "source": "/etc/hostname",
                               "options": ["bind"]})
    b.config["root"]["readonly"] = False
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert list(host.iterdir()) == []
    inside = b.rootfs / str(host).lstrip("/")
    assert (inside / "a" / "b").is_dir() and (inside / "c" / "file").is_file()


# CVE-2019-19921, CVE-2023-27561: /proc must be a real procfs on a real directory, and nothing
# may be mounted over it, or writes meant for procfs (LSM labels, sysctl) land elsewhere.

@pytest.mark.parametrize("target", ["/fakeproc", "host"])
def test_cve_2019_19921_proc_on_a_symlink_is_refused(hull, bundle, tmp_path, target):
    host = tmp_path / "hostproc"
    host.mkdir()
    b = bundle(["true"])
    shutil.rmtree(b.rootfs / "proc")
    (b.rootfs / "fakeproc").mkdir()
    (b.rootfs / "proc").symlink_to(str(host) if target == "host" else target)
    p = hull.run(b)
    assert p.returncode == 1
    assert "proc must be mounted on a directory, and /proc is not one" in p.stderr, p.stderr
    assert list(host.iterdir()) == [] and mounts_under(host) == []


@pytest.mark.parametrize("dest", ["/proc", "/proc/self/attr", "/proc/sys", "/proc/sys/kernel/hostname"])
def test_cve_2023_27561_nothing_but_procfs_covers_proc(hull, bundle, tmp_path, dest):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "file").write_text("x")
    b = bundle(["true"])
    src = fake / "file" if dest.endswith("hostname") else fake
    b.config["mounts"].append({"destination": dest, "type": "bind", "source": str(src), "options": ["bind"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert f"mounts[{len(b.config['mounts']) - 1}]: {dest}" in p.stderr and "only procfs" in p.stderr, p.stderr


def test_cve_2023_27561_lxcfs_files_may_still_cover_proc_files(hull, bundle, tmp_path):
    (tmp_path / "uptime").write_text("12345.00 0.00\n")
    b = bundle(["cat", "/proc/uptime"])
    b.config["mounts"].append({"destination": "/proc/uptime", "type": "bind", "source": str(tmp_path / "uptime"),
                               "options": ["bind"]})
    b.save()
    p = hull.run(b)
    assert p.stdout == "12345.00 0.00\n", p.stderr


# CVE-2025-31133: masking binds /dev/null over paths; a /dev/null that is anything but the null
# device (a symlink to a host file, another device) must never be used for it.

def test_cve_2025_31133_masking_refuses_a_dev_null_that_is_not_1_3(hull, bundle):
    b = bundle(["true"])
    b.linux["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 5}]
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert "/dev/null is not the null device (char 1:3): refusing to mask paths with it" in p.stderr, p.stderr


def test_cve_2025_31133_a_dev_null_symlink_in_the_image_is_replaced(hull, bundle, tmp_path):
    host = tmp_path / "core_pattern"
    host.write_text("host file\n")
    b = bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/null; cat /proc/kcore /proc/timer_list | wc -c"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    (b.rootfs / "dev" / "null").symlink_to(str(host))
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines()[0] == "character special file 1:3", p.stderr
    assert host.read_text() == "host file\n" and mounts_under(host) == []


# CVE-2025-52565: /dev/console (and /dev/pts) is never followed through a symlink.

def test_cve_2025_52565_dev_console_symlink_is_not_followed(hull, bundle, tmp_path):
    host = tmp_path / "host-file"
    host.write_text("host file\n")
    hostpts = tmp_path / "host-pts"
    hostpts.mkdir()
    b = bundle(["sh", "-c", "stat -c '%F %t' /dev/console; tty"], terminal=True)
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    (b.rootfs / "dev" / "console").symlink_to(str(host))
    (b.rootfs / "dev" / "pts").symlink_to(str(hostpts))
    b.config["root"]["readonly"] = False
    b.save()
    # A terminal on stdin, as a user's: hull-oci run refuses a terminal spec without one.
    master, slave = os.openpty()
    try:
        p = hull.run(b, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    out = p.stdout.replace("\r", "").splitlines()
    assert out and out[0] == "character special file 88", (out, p.stderr)  # a pty slave (major 136 = 0x88)
    assert host.read_text() == "host file\n" and mounts_under(host) == []
    assert list(hostpts.iterdir()) == [] and mounts_under(hostpts) == []


# CVE-2022-29162: the inheritable set is empty unless the config asks for it, so a file with
# inheritable capabilities gains nothing.

def cap_sets(text):
    return {k: int(v, 16) for k, v in (l.split(":\t") for l in text.splitlines() if l.startswith("Cap"))}


def test_cve_2022_29162_inheritable_capabilities_are_empty_by_default(hull, bundle):
    b = bundle(["grep", "^Cap", "/proc/self/status"])
    caps = cap_sets(hull.run(b).stdout)
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0
    assert caps["CapBnd"] == caps["CapPrm"] == caps["CapEff"] == (1 << 5) | (1 << 10) | (1 << 29)


def test_cve_2022_29162_inheritable_only_when_asked(hull, bundle):
    b = bundle(["grep", "^Cap", "/proc/self/status"])
    b.process["capabilities"]["inheritable"] = ["CAP_KILL"]
    b.save()
    assert cap_sets(hull.run(b).stdout)["CapInh"] == 1 << 5


def test_cve_2022_29162_exec(hull, bundle):
    b = bundle(["sleep", "30"])
    cid = hull.create(b)
    hull.oci("start", cid)
    container = (1 << 5) | (1 << 10) | (1 << 29)
    caps = cap_sets(hull.oci("exec", cid, "grep", "^Cap", "/proc/self/status").stdout)
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0 and caps["CapEff"] == container
    # --cap adds to bounding, effective and permitted, never to inheritable (runc's bug)
    caps = cap_sets(hull.oci("exec", "--cap", "CAP_NET_ADMIN", cid, "grep", "^Cap", "/proc/self/status").stdout)
    assert caps["CapEff"] == caps["CapPrm"] == container | (1 << 12)
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0
    # a process.json gets inheritable capabilities only when it names them
    proc = dict(b.process, args=["grep", "^Cap", "/proc/self/status"])
    for inheritable, want in (([], 0), (["CAP_KILL"], 1 << 5)):
        proc["capabilities"] = dict(b.process["capabilities"], inheritable=inheritable)
        pj = b.path / "process.json"
        pj.write_text(json.dumps(proc))
        assert cap_sets(hull.oci("exec", "--process", pj, cid).stdout)["CapInh"] == want
    hull.oci("delete", "--force", cid)


# CVE-2026-41579: a /dev in the image that is a symlink out of the rootfs; devices, /dev
# symlinks and the /dev mount must all land inside the rootfs.

@pytest.mark.parametrize("dev_mount", [True, False])
def test_cve_2026_41579_dev_symlink_changes_nothing_on_the_host(hull, bundle, tmp_path, dev_mount):
    host = tmp_path / "host-dev"
    host.mkdir()
    b = bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/null; ls /dev/shm >/dev/null && echo shm"])
    if not dev_mount:
        b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    shutil.rmtree(b.rootfs / "dev")
    (b.rootfs / "dev").symlink_to(str(host))
    b.config["root"]["readonly"] = False
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["character special file 1:3", "shm"], p.stderr
    assert list(host.iterdir()) == [] and mounts_under(host) == []
