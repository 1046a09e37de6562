"""`hull run`: the tutorial's exercises as one command each, and every flag checked against
what the kernel shows (/proc/self/status, mountinfo, the cgroup files)."""
import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL, comm

DEFAULT_CAPS = 0x00000000a80425fb  # docker's default set, as CapEff shows it


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in {text!r}")


def host_status(pid):
    return Path(f"/proc/{pid}/status").read_text()


# --- the tutorial's exercises -------------------------------------------------------------

def test_pid_namespace_the_container_is_pid_1_and_sees_only_itself(friendly):
    # unshare --fork --pid --mount-proc bash; ps aux
    p = friendly.run("host", "sh", "-c", "echo $$; ps -e -o pid=,comm=")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "1"
    procs = [l.split() for l in lines[1:] if l.strip()]
    assert [int(pid) for pid, _ in procs] == [1, 2]  # sh and ps: nothing of the host
    assert len(list(Path("/proc").glob("[0-9]*"))) > 10


def test_pid_namespace_the_host_sees_another_pid(friendly):
    cid = friendly.detach("--name", "pidns", "host", "sleep", "600")
    pid = friendly.pid("pidns")
    assert pid > 1
    nspid = status_field(host_status(pid), "NSpid").split()
    assert nspid == [str(pid), "1"]
    assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    friendly("rm", "-f", cid[:12])


def test_the_hosts_root_is_read_only_under_an_overlay_thrown_away(friendly, tmp_path):
    marker = f"/etc/hull-test-{tmp_path.name}"
    p = friendly.run("host", "sh", "-c", f"echo inside > {marker} && cat {marker}; "
                     "grep ' / / ' /proc/self/mountinfo; ls -A /tmp /run; cat /etc/hostname")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("inside\n")
    assert " - overlay overlay " in p.stdout
    assert "/run:\n\n/tmp:\n" in p.stdout  # its own, empty /tmp and /run
    assert not os.path.exists(marker)
    # the host's files are all there, read as they are
    p = friendly.run("host", "cat", "/etc/os-release")
    assert p.stdout == Path("/etc/os-release").read_text()


def mountinfo(text):
    """mount point -> file system type, from /proc/PID/mountinfo text."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 6 and "-" in fields:
            out[fields[4]] = fields[fields.index("-") + 1]
    return out


def test_own_proc_dev_tmp_run(friendly):
    mounts = mountinfo(friendly.run("host", "cat", "/proc/self/mountinfo").stdout)
    want = {"/": "overlay", "/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
            "/dev/mqueue": "mqueue", "/sys": "sysfs", "/tmp": "tmpfs", "/run": "tmpfs"}
    assert {k: mounts.get(k) for k in want} == want
    devs = friendly.run("host", "ls", "/dev").stdout.split()
    for d in ("null", "zero", "random", "urandom", "tty", "pts", "shm"):
        assert d in devs
    assert "vda" not in devs and "sda" not in devs  # no host disks


def test_uts_namespace_hostname(friendly):
    host = Path("/proc/sys/kernel/hostname").read_text().strip()
    p = friendly.run("-h", "box1", "host", "sh", "-c", "hostname; cat /etc/hostname; grep box1 /etc/hosts")
    assert p.stdout.split("\n")[:2] == ["box1", "box1"]
    assert "127.0.1.1\tbox1" in p.stdout
    assert Path("/proc/sys/kernel/hostname").read_text().strip() == host
    # the default is the short id, as docker's
    cid = friendly.detach("--name", "named", "host", "sleep", "600")
    assert friendly.run("host", "cat", "/proc/sys/kernel/hostname").stdout.strip() != host
    p = subprocess.run(["nsenter", "-t", str(friendly.pid("named")), "-u", "hostname"], capture_output=True, text=True)
    assert p.stdout.strip() == cid[:12]
    friendly("rm", "-f", "named")


def test_ipc_namespace_hides_the_hosts_segments(friendly):
    out = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True).stdout
    shmid = re.search(r"(\d+)", out).group(1)
    # The container's segment has a size no other process on the host uses (other tests and
    # programs may hold segments of their own meanwhile).
    size = str(40961 + os.getpid() % 1000)
    try:
        assert shmid in Path("/proc/sysvipc/shm").read_text()
        p = friendly.run("host", "sh", "-c", "tail -n +2 /proc/sysvipc/shm | wc -l; "
                         f"ipcmk -M {size} >/dev/null; tail -n +2 /proc/sysvipc/shm | wc -l")
        assert p.stdout.split() == ["0", "1"]
    finally:
        subprocess.run(["ipcrm", "-m", shmid], check=True)
    # what it made died with its namespace
    sizes = [line.split()[3] for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert size not in sizes


def test_userns_private_root_inside_is_unprivileged_outside(friendly):
    cid = friendly.detach("--userns", "private", "host", "sh", "-c", "id -u; cat /proc/self/uid_map; exec sleep 600")
    out = friendly.wait_log(cid, "65536")
    assert out.split()[:4] == ["0", "0", "100000", "65536"]
    uid = status_field(host_status(friendly.pid(cid)), "Uid").split()
    assert uid == ["100000"] * 4
    friendly("rm", "-f", cid)


def test_userns_private_cannot_write_the_hosts_files(friendly):
    p = friendly.run("--userns", "private", "host", "sh", "-c", "touch /etc/x; echo $?; touch /tmp/y && echo tmp-ok")
    assert p.stdout.split() == ["1", "tmp-ok"]
    assert "Permission denied" in p.stderr


# --- exit codes and stdio ----------------------------------------------------------------

def test_exit_code_is_the_containers(friendly):
    assert friendly.run("host", "sh", "-c", "exit 7").returncode == 7
    # PID 1 cannot be killed from inside; under hull's init the process can, and its death by
    # SIGKILL comes back as 128 + 9.
    assert friendly.run("--init", "host", "sh", "-c", "kill -9 $$").returncode == 137


def test_command_not_found_127_not_executable_126(friendly):
    p = friendly.run("host", "no-such-command")
    assert p.returncode == 127
    assert p.stderr.strip() == 'hull: exec: "no-such-command": executable file not found in $PATH: no such file or directory'
    p = friendly.run("host", "/etc/passwd")
    assert p.returncode == 126 and "permission denied" in p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_detached_run_exit_codes_come_from_the_monitors_report(friendly):
    """run -d: the monitor creates the container and reports its error to the command in the
    runtime's typed packets; the error's kind (not its words) makes 127 and 126, as in the
    foreground, and nothing of the container is left."""
    p = friendly("run", "-d", "--name", "missing", "host", "no-such-command", check=False)
    assert p.returncode == 127 and p.stdout == "", p
    assert p.stderr == 'hull: exec: "no-such-command": executable file not found in $PATH: no such file or directory\n'
    p = friendly("run", "-d", "--name", "notexec", "host", "/etc/passwd", check=False)
    assert p.returncode == 126 and p.stdout == "", p
    assert len(p.stderr.splitlines()) == 1 and "permission denied" in p.stderr
    # A missing file that is not the command (ENOENT too, another kind): hull's own failure, 125.
    p = friendly("run", "-d", "--name", "nosrc", "-v", "/no/such/src:/x", "host", "true", check=False)
    assert p.returncode == 125 and p.stderr == "hull: -v /no/such/src:/x: /no/such/src: no such file or directory\n", p
    # A failure inside the container's init, reported through the monitor: 125 as well.
    p = friendly("run", "-d", "--name", "fewfds", "--ulimit", "nofile=3:3", "host", "true", check=False)
    assert p.returncode == 125 and len(p.stderr.splitlines()) == 1 and "RLIMIT_NOFILE 3 is too low" in p.stderr, p
    assert friendly.ps("-a") == [] and friendly.monitors() == []


def test_without_i_stdin_is_empty_with_i_it_is_passed(friendly):
    assert friendly.run("host", "cat", input="hello\n").stdout == ""
    assert friendly.run("-i", "host", "cat", input="hello\n").stdout == "hello\n"


def test_tty_gives_a_terminal(friendly):
    cmd = " ".join(shlex.quote(str(a)) for a in ["env", f"HULL_STATE={friendly.state}", f"HULL_ROOT={friendly.root}",
                                                  f"HULL_CGROUP_PARENT={friendly.cgroup_parent}", HULL, "run", "--rm",
                                                  "-t", "host", "sh", "-c", "tty; test -t 0 && echo is-a-tty; exit 3"])
    p = subprocess.run(["script", "-eqc", cmd, "/dev/null"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=30)
    assert p.returncode == 3
    assert "/dev/pts/0" in p.stdout and "is-a-tty" in p.stdout


def test_rm_leaves_nothing_and_without_it_ps_shows_the_exit(friendly):
    friendly.run("--name", "gone", "host", "true")
    assert friendly.ps("-a") == []
    friendly.run("--name", "kept", "host", "sh", "-c", "exit 4", keep=True)
    [c] = friendly.ps("-a")
    assert (c["name"], c["state"], c["exitCode"]) == ("kept", "exited", 4)
    assert c["status"].startswith("Exited (4)")
    friendly("rm", "kept")


# --- flags against what the kernel shows --------------------------------------------------

def test_env_env_file_workdir_user(friendly, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=1\n\nSHARED=file\n")
    p = friendly.run("-e", "A=1", "-e", "SHARED=flag", "--env-file", envfile, "-w", "/tmp", "-u", "nobody",
                     "host", "sh", "-c", "echo $A $FROM_FILE $SHARED $HOME $HOSTNAME; pwd; id -u; id -g")
    a, from_file, shared, home, hostname, pwd, uid, gid = p.stdout.split()
    assert (a, from_file, shared, pwd, uid, gid) == ("1", "1", "flag", "/tmp", "65534", "65534")
    assert home == "/nonexistent" and len(hostname) == 12
    # NAME alone comes from hull's own environment
    friendly.env["FROM_HOST"] = "yes"
    assert friendly.run("-e", "FROM_HOST", "host", "printenv", "FROM_HOST").stdout == "yes\n"


def test_volume_read_only_and_read_write(friendly, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in").write_text("from host")
    p = friendly.run("-v", f"{data}:/data:ro", "host", "sh", "-c", "cat /data/in; touch /data/x")
    assert p.stdout == "from host" and "Read-only file system" in p.stderr
    p = friendly.run("-v", f"{data}:/data", "host", "sh", "-c", "echo from container > /data/out")
    assert p.returncode == 0 and (data / "out").read_text() == "from container\n"


def test_tmpfs_and_read_only(friendly):
    p = friendly.run("--read-only", "--tmpfs", "/scratch:size=1m", "host", "sh", "-c",
                     "grep ' /scratch ' /proc/self/mountinfo; touch /scratch/ok && echo scratch-ok; touch /etc/x")
    assert "scratch-ok" in p.stdout
    mount = next(l for l in p.stdout.splitlines() if "/scratch" in l)
    assert "noexec" in mount and "nosuid" in mount and "nodev" in mount and "size=1024k" in mount
    assert "Read-only file system" in p.stderr
    assert " / / ro," in friendly.run("--read-only", "host", "cat", "/proc/self/mountinfo").stdout


def caps(friendly, *flags):
    out = friendly.run(*flags, "host", "grep", "-E", "^(CapEff|CapBnd|Seccomp|NoNewPrivs):", "/proc/self/status").stdout
    return {k: v.strip() for k, v in (l.split(":") for l in out.splitlines())}


def test_capabilities_default_add_drop_privileged(friendly):
    assert int(caps(friendly)["CapEff"], 16) == DEFAULT_CAPS
    assert int(caps(friendly)["CapBnd"], 16) == DEFAULT_CAPS
    assert int(caps(friendly, "--cap-add", "sys_admin")["CapEff"], 16) == DEFAULT_CAPS | (1 << 21)
    assert int(caps(friendly, "--cap-drop", "CHOWN")["CapEff"], 16) == DEFAULT_CAPS & ~1
    assert int(caps(friendly, "--cap-drop", "ALL", "--cap-add", "KILL")["CapEff"], 16) == 1 << 5
    # every capability hull itself holds (this host's root may lack some, e.g. CAP_SYS_RESOURCE)
    ours = int(status_field(Path("/proc/self/status").read_text(), "CapBnd"), 16)
    assert int(caps(friendly, "--privileged")["CapEff"], 16) == ours


def test_security_opts_no_new_privileges_and_seccomp(friendly, tmp_path):
    assert caps(friendly)["NoNewPrivs"] == "0"
    assert caps(friendly, "--security-opt", "no-new-privileges")["NoNewPrivs"] == "1"
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                       '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}')
    p = friendly.run("--security-opt", f"seccomp={profile}", "host", "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/d")
    assert "Seccomp:\t2" in p.stdout and "Operation not permitted" in p.stderr
    assert caps(friendly, "--security-opt", "seccomp=unconfined")["Seccomp"] == "0"


def test_privileged_sees_host_devices_and_no_masked_paths(friendly):
    p = friendly.run("--privileged", "host", "sh", "-c", "ls /dev; grep -c '/proc/keys ' /proc/self/mountinfo")
    assert "vda" in p.stdout.split() or "sda" in p.stdout.split()
    assert p.stdout.split()[-1] == "0"
    assert friendly.run("host", "grep", "-c", "/proc/keys ", "/proc/self/mountinfo").stdout.strip() == "1"


def test_ulimit(friendly):
    p = friendly.run("--ulimit", "nofile=512:1024", "host", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert p.stdout.split() == ["512", "1024"]


def test_sysctl_namespaced_only(friendly):
    p = friendly.run("--sysctl", "kernel.shmmax=65536", "--sysctl", "net.ipv4.ip_forward=1", "host", "sh", "-c",
                     "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward")
    assert p.stdout.split() == ["65536", "1"]
    assert Path("/proc/sys/kernel/shmmax").read_text().strip() != "65536"


def test_network_none_and_host(friendly):
    ifaces = friendly.run("host", "cat", "/proc/net/dev").stdout.splitlines()[2:]
    assert [l.split(":")[0].strip() for l in ifaces] == ["lo"]
    host = [l.split(":")[0].strip() for l in Path("/proc/net/dev").read_text().splitlines()[2:]]
    p = friendly.run("--network", "host", "host", "cat", "/proc/net/dev")
    assert [l.split(":")[0].strip() for l in p.stdout.splitlines()[2:]] == host


def test_init_reaps_zombies_and_forwards_signals(friendly):
    # Without --init the orphan stays a zombie under a shell that never waits for it.
    script = "sh -c 'sleep 0.1 &'; sleep 0.5; ps -e -o stat=,comm= | grep -c '^Z'; ps -o comm= -p 1"
    p = friendly.run("--init", "host", "sh", "-c", script)
    assert p.stdout.split() == ["0", "hull-init"]
    cid = friendly.detach("--init", "host", "sleep", "600")
    assert friendly("top", cid).stdout.count("\n") == 3  # header, hull-init, sleep
    friendly("stop", "-t", "30", cid, timeout=20)  # SIGTERM reaches sleep at once
    assert friendly.inspect(cid)["exitCode"] == 128 + 15
    friendly("rm", cid)


def test_cve_2019_5736_hulls_own_init_is_closed_to_the_container(friendly):
    # --init leaves hull's binary running as PID 1 inside: its exe must not be reachable.
    p = friendly.run("--init", "host", "sh", "-c", "cat /proc/1/exe >/dev/null || echo exe-denied; "
                     "readlink /proc/1/fd/0 >/dev/null || echo fd-denied; cat /proc/1/maps >/dev/null || echo maps-denied")
    assert p.stdout.split() == ["exe-denied", "fd-denied", "maps-denied"]
    assert "Permission denied" in p.stderr
    # the process itself (PID 2) is an ordinary one
    assert friendly.run("--init", "host", "sh", "-c", "readlink /proc/$$/exe").stdout == "/usr/bin/dash\n"


def test_cgroup_parent(friendly):
    cid = friendly.detach("host", "sleep", "600")
    assert friendly.cgroup_dir("memory", cid).is_dir()
    assert str(friendly.pid(cid)) in (friendly.cgroup_dir("pids", cid) / "cgroup.procs").read_text()
    friendly("rm", "-f", cid)


# --- resource flags: the cgroup files say so ----------------------------------------------

def cgroup_read(friendly, cid, controller, name):
    return (friendly.cgroup_dir(controller, cid) / name).read_text().strip()


def test_memory_and_swap(friendly):
    cid = friendly.detach("--memory", "64m", "--memory-swap", "96m", "host", "sleep", "600")
    assert cgroup_read(friendly, cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cgroup_read(friendly, cid, "memory", "memory.memsw.limit_in_bytes") == str(96 << 20)
    friendly("rm", "-f", cid)


def test_cpus_shares_cpuset(friendly):
    cid = friendly.detach("--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "host", "sleep", "600")
    assert cgroup_read(friendly, cid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgroup_read(friendly, cid, "cpu", "cpu.cfs_period_us") == "100000"
    assert cgroup_read(friendly, cid, "cpu", "cpu.shares") == "512"
    assert cgroup_read(friendly, cid, "cpuset", "cpuset.cpus") == "0"
    assert status_field(host_status(friendly.pid(cid)), "Cpus_allowed_list") == "0"
    friendly("rm", "-f", cid)


def test_pids_limit_stops_a_fork_loop(friendly):
    cid = friendly.detach("--pids-limit", "10", "host", "sleep", "600")
    assert cgroup_read(friendly, cid, "pids", "pids.max") == "10"
    friendly("rm", "-f", cid)
    p = friendly.run("--pids-limit", "5", "host", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
    assert "fork" in p.stderr.lower() or "resource temporarily unavailable" in p.stderr.lower()


def root_disk():
    dev = os.stat("/").st_dev
    sysdir = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if (sysdir / "partition").exists():
        sysdir = sysdir.resolve().parent
    name = re.search(r"DEVNAME=(\S+)", (sysdir / "uevent").read_text()).group(1)
    return f"/dev/{name}", (sysdir / "dev").read_text().strip()


def test_block_io_flags(friendly):
    disk, majmin = root_disk()
    cid = friendly.detach("--device-read-bps", f"{disk}:1mb", "--device-write-bps", f"{disk}:2mb",
                          "--device-read-iops", f"{disk}:100", "--device-write-iops", f"{disk}:200",
                          "--blkio-weight", "300", "host", "sleep", "600")
    assert cgroup_read(friendly, cid, "blkio", "blkio.throttle.read_bps_device") == f"{majmin} {1 << 20}"
    assert cgroup_read(friendly, cid, "blkio", "blkio.throttle.write_bps_device") == f"{majmin} {2 << 20}"
    assert cgroup_read(friendly, cid, "blkio", "blkio.throttle.read_iops_device") == f"{majmin} 100"
    assert cgroup_read(friendly, cid, "blkio", "blkio.throttle.write_iops_device") == f"{majmin} 200"
    weight = friendly.cgroup_dir("blkio", cid) / "blkio.weight"
    if weight.exists():  # only with the BFQ/CFQ scheduler
        assert weight.read_text().strip() == "300"
    friendly("rm", "-f", cid)


# --- bad flags: one line, exit 125, nothing left ------------------------------------------

@pytest.mark.parametrize("flags,message", [
    (["--memory", "12x"], '--memory: invalid size "12x"'),
    (["--memory", "1m"], "--memory: \"1m\" is below the minimum of 6m"),
    (["--memory-swap", "1g"], "--memory-swap: needs --memory too"),
    (["--cpus", "abc"], '--cpus: invalid number "abc"'),
    (["--cpus", "99"], "--cpus: 99 is outside 0.01.."),
    (["--cpuset-cpus", "7"], "--cpuset-cpus: CPU 7 does not exist"),
    (["--cpu-shares", "1"], "--cpu-shares: 1 is outside 2..262144"),
    (["--blkio-weight", "5"], "--blkio-weight: 5 is outside 10..1000"),
    (["--pids-limit", "ten"], '--pids-limit: invalid number "ten"'),
    (["--device-read-bps", "/dev/null:1mb"], "--device-read-bps: /dev/null is not a block device"),
    (["--device-read-bps", "/dev/vda"], '--device-read-bps: "/dev/vda" is not DEVICE:RATE'),
    (["--ulimit", "nofiles=1"], '--ulimit: unknown limit "nofiles"'),
    (["--ulimit", "nofile=10:5"], "--ulimit: soft limit 10 is above the hard limit 5"),
    (["-v", "da!ta:/data"], "the host side must be an absolute path or a volume name"),
    (["-v", "/no/such/dir:/data"], "-v /no/such/dir:/data: /no/such/dir: no such file or directory"),
    (["--tmpfs", "relative"], "--tmpfs: \"relative\": the path must be absolute"),
    (["--cap-add", "FLY"], '--cap-add: unknown capability "FLY"'),
    (["--security-opt", "seccomp=/no/such.json"], "seccomp=/no/such.json: no such file or directory"),
    (["--security-opt", "apparmor=x"], "apparmor is not supported"),
    (["--sysctl", "kernel.panic=1"], "--sysctl kernel.panic: not namespaced"),
    (["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"], "needs the container's own network"),
    (["--network", "bridge9"], '--network "bridge9": unknown network'),
    (["--userns", "auto9"], '--userns "auto9"'),
    (["-w", "relative"], '-w: "relative" is not an absolute path'),
    (["-u", "nosuchuser"], '-u: no user "nosuchuser"'),
    (["-h", "bad_name!"], "--hostname: \"bad_name!\" may only hold"),
    (["--name", "-bad"], None),
    (["--name", "bad name"], '--name: invalid name "bad name"'),
    (["--rootfs", "/no/such/root"], "--rootfs /no/such/root: no such file or directory"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_bad_flags_one_line_125_nothing_left(friendly, flags, message):
    p = friendly.run(*flags, "host", "true")
    assert p.returncode == 125, (p.stdout, p.stderr)
    assert p.stderr.startswith("hull: ") and p.stderr.count("\n") == 1, p.stderr
    if message:
        assert message in p.stderr
    assert p.stdout == ""
    assert friendly.ps("-a") == []


def test_a_name_is_unique(friendly):
    cid = friendly.detach("--name", "web", "host", "sleep", "600")
    p = friendly.run("--name", "web", "host", "true")
    assert p.returncode == 125
    assert p.stderr == f'hull: the name "web" is already in use by container {cid[:12]}\n'
    assert [c["id"] for c in friendly.ps("-a")] == [cid]
    friendly("rm", "-f", "web")
    assert friendly.run("--name", "web", "host", "true").returncode == 0


def test_rootfs_of_your_own(friendly, base_rootfs, tmp_path):
    import shutil
    root = tmp_path / "rootfs"
    shutil.copytree(base_rootfs, root, symlinks=True)
    p = friendly.run("--rootfs", root, "sh", "-c", "ls /bin/helper; grep ' / / ' /proc/self/mountinfo; "
                     "echo kept > /root/file")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("/bin/helper\n")
    assert " - overlay " not in p.stdout
    assert (root / "root" / "file").read_text() == "kept\n"  # written to the directory itself
    # no command: the user's login shell from the rootfs' /etc/passwd
    assert friendly.run("-i", "--rootfs", root, input="echo $0 $HOME\n").stdout == "/bin/sh /root\n"
    cid = friendly.detach("--rootfs", root, "sleep", "600")
    assert friendly.ps()[0]["rootfs"] == str(root)
    friendly("rm", "-f", cid)


# --- issue 17: what a run costs --------------------------------------------------------------


def test_a_foreground_rm_run_hands_a_pipe_through_and_keeps_no_log(friendly):
    # Output that is no terminal goes to the container as it is: no logger process, no log
    # file (it would go with --rm), the caller's own pipe is the container's stdout.
    r, w = os.pipe()
    ino = os.fstat(r).st_ino
    p = subprocess.Popen([str(HULL), "run", "--rm", "--name", "through", "host", "sh", "-c",
                          "readlink /proc/self/fd/1; echo e1 >&2; until [ -e /tmp/go ]; do sleep 0.05; done; exit 3"],
                         stdout=w, stderr=subprocess.PIPE, env=friendly.env, text=True)
    os.close(w)
    try:
        link = friendly.state / "names" / "through"
        deadline = time.time() + 30
        while not (link.is_symlink() and (friendly.state / "containers" / os.readlink(link) / "meta.json").exists()):
            assert p.poll() is None and time.time() < deadline, p.communicate()
            time.sleep(0.01)
        cdir = friendly.state / "containers" / os.readlink(link)
        assert friendly.wait_state("through", "running")
        assert not (cdir / "container.log").exists()
        assert "hull-logger" not in [comm(q) for q in friendly.monitors()]
        assert friendly("logs", "through").stdout == ""  # nothing kept to show
    finally:
        # it waits for this (a fixed sleep could end before a loaded machine got here)
        if friendly("exec", "through", "touch", "/tmp/go", check=False).returncode != 0 and p.poll() is None:
            p.kill()
            friendly.force_cleanup()
        with os.fdopen(r) as out:
            text = out.read()
        err = p.communicate(timeout=30)[1]
    assert p.returncode == 3
    assert text == f"pipe:[{ino}]\n"
    assert err == "e1\n"
    assert friendly.ps("-a") == [] and not any((friendly.state / "containers").iterdir())
    # its events are all there, the exit code in "die" (what `wait` reads once it is gone)
    events = [json.loads(line) for line in (friendly.state / "events.log").read_text().splitlines()]
    mine = [e for e in events if e["Actor"]["Attributes"]["name"] == "through"]
    assert [e["Action"] for e in mine] == ["create", "start", "die", "destroy"]
    assert mine[2]["Actor"]["Attributes"]["exitCode"] == "3"


def test_a_foreground_rm_run_on_a_terminal_still_gets_a_pipe(friendly):
    # docker without -t: the container writes to a pipe, even when hull's stdout is a terminal.
    cmd = shlex.join(["env", f"HULL_STATE={friendly.state}", f"HULL_ROOT={friendly.root}",
                      f"HULL_CGROUP_PARENT={friendly.cgroup_parent}", str(HULL), "run", "--rm", "host", "sh", "-c",
                      "test -t 1 && echo on-a-tty || echo not-a-tty"])
    p = subprocess.run(["script", "-eqc", cmd, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    assert p.returncode == 0 and "not-a-tty" in p.stdout, p
    assert friendly.ps("-a") == []


def test_a_detached_containers_monitor_logs_in_a_thread_not_a_process(friendly):
    cid = friendly.detach("--name", "one", "host", "sh", "-c", "echo o1; echo e1 >&2; printf last; sleep 600")
    friendly.wait_log("one", "e1")  # "last" has no newline yet: logged at the end
    procs = [q for q in friendly.monitors() if comm(q).startswith("hull")]
    assert [comm(q) for q in procs] == ["hull-monitor"]  # one process per container, as conmon
    [monitor] = procs
    status = Path(f"/proc/{monitor}/status").read_text()
    assert re.search(r"^Threads:\s+2$", status, re.M), status  # the monitor and its logger
    friendly("stop", "-t", "1", "one")
    assert friendly.inspect("one")["state"] == "exited"
    p = friendly("logs", "one")  # the whole log once it is "exited", the streams apart
    assert (p.stdout, p.stderr) == ("o1\nlast", "e1\n")
    assert friendly.monitors() == []
    friendly("rm", cid)
