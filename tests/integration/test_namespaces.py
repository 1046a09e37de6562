"""The tutorial's namespace exercises, through hull: what a person would check by eye."""
import os
import socket
import subprocess


from hulltest import userns_bundle, wait_for


def test_pid_namespace_the_process_is_pid_1_and_ps_sees_only_the_container(hull, bundle):
    # "; true" keeps sh from exec'ing ps as its last command.
    b = bundle(["sh", "-c", "echo $$; ps -o pid,comm; true"])
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "1"
    procs = [l.split() for l in lines[2:] if l.strip()]
    # sh (PID 1) and the ps it runs: nothing of the host.
    assert [pr[0] for pr in procs] == ["1", procs[1][0]] and procs[1][1] == "ps"


def test_pid_namespace_the_host_sees_another_pid(hull, bundle):
    b = bundle(["sh", "-c", "echo $$; sleep 30"])
    cid = hull.create(b)
    host_pid = hull.state(cid)["pid"]
    status = open(f"/proc/{host_pid}/status").read()
    nspid = [l for l in status.splitlines() if l.startswith("NSpid:")][0].split()[1:]
    assert nspid[0] == str(host_pid) and nspid[-1] == "1" and host_pid != 1
    hull.oci("delete", "--force", cid)


def test_uts_namespace_hostname_and_domainname_differ_from_the_host(hull, bundle):
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
    b.config["hostname"] = "box-one"
    b.config["domainname"] = "example.test"
    b.save()
    p = hull.run(b)
    assert p.stdout.split() == ["box-one", "example.test"]
    assert socket.gethostname() != "box-one"


def test_ipc_namespace_has_its_own_sysv_objects(hull, bundle):
    shmid = subprocess.run(["ipcmk", "-M", "4096", "-p", "0600"], capture_output=True, text=True, check=True)
    shm = shmid.stdout.strip().split()[-1]
    try:
        # ipcs reads /proc/sysvipc/shm; busybox-static has no ipcs.
        host = open("/proc/sysvipc/shm").read()
        assert shm in host.split()
        b = bundle(["cat", "/proc/sysvipc/shm"])
        p = hull.run(b)
        assert p.returncode == 0, p.stderr
        assert shm not in p.stdout.split()
        # Sharing the host's IPC namespace (no ipc entry) shows the host's segment.
        b.remove_namespace("ipc")
        b.save()
        assert shm in hull.run(b).stdout.split()
    finally:
        subprocess.run(["ipcrm", "-m", shm], check=True)


def test_network_namespace_has_only_loopback(hull, bundle):
    b = bundle(["sh", "-c", "ls /sys/class/net"])
    b.linux["namespaces"] = [n for n in b.linux["namespaces"]]
    p = hull.run(b)
    assert p.stdout.split() == ["lo"]


def test_mount_namespace_container_mounts_are_invisible_on_the_host(hull, bundle, tmp_path):
    b = bundle(["sh", "-c", "mount -t tmpfs none /mnt && touch /mnt/inside && ls /mnt"])
    # All capabilities and no seccomp filter: what `docker run --privileged` gives.
    b.process["capabilities"] = None
    b.linux.pop("seccomp")
    b.save()
    p = hull.run(b)
    assert p.stdout.strip() == "inside", p.stderr
    assert not (b.rootfs / "mnt" / "inside").exists()


def test_user_namespace_container_root_is_an_unprivileged_uid_on_the_host(hull, bundle):
    b = userns_bundle(bundle, ["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/made-inside; sleep 30"])
    b.config["root"]["readonly"] = False
    b.save()
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    assert open(f"/proc/{pid}/uid_map").read().split() == ["0", "100000", "65536"]
    assert open(f"/proc/{pid}/gid_map").read().split() == ["0", "100000", "65536"]
    hull.oci("start", cid)
    made = b.rootfs / "tmp" / "made-inside"
    wait_for(made.exists, "the file made inside")
    st = made.stat()
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    # The process runs as that uid on the host, not as root.
    status = open(f"/proc/{pid}/status").read()
    uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()[1:]
    assert uid_line == ["100000"] * 4
    hull.oci("delete", "--force", cid)


def test_user_namespace_id_inside_is_root(hull, bundle):
    b = userns_bundle(bundle, ["sh", "-c", "id -u; id -g"])
    p = hull.run(b)
    assert p.stdout.split() == ["0", "0"], p.stderr


def test_cgroup_namespace_shows_the_container_cgroup_as_root(hull, bundle):
    b = bundle(["cat", "/proc/self/cgroup"])
    b.add_namespace("cgroup")  # spec adds it only on a pure v2 host (runc's rule)
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    for line in p.stdout.splitlines():
        assert line.split(":", 2)[2] == "/", line


def test_time_namespace_offsets_shift_the_monotonic_clock(hull, bundle):
    b = bundle(["cat", "/proc/uptime"])
    b.add_namespace("time")
    b.linux["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                              "monotonic": {"secs": 86400, "nanosecs": 0}}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    host_uptime = float(open("/proc/uptime").read().split()[0])
    inside = float(p.stdout.split()[0])
    assert inside - host_uptime > 86400 * 365 - 60


def test_joining_a_network_namespace_by_path(hull, bundle):
    # A first container owns a network namespace; a second joins it by path.
    first = bundle(["sleep", "30"])
    a = hull.create(first)
    pid = hull.state(a)["pid"]
    second = bundle(["sh", "-c", "readlink /proc/self/ns/net"])
    second.add_namespace("network", f"/proc/{pid}/ns/net")
    second.save()
    p = hull.run(second)
    assert p.stdout.strip() == os.readlink(f"/proc/{pid}/ns/net"), p.stderr
    hull.oci("delete", "--force", a)


def test_joining_namespaces_by_path_under_a_new_user_namespace(hull, bundle):
    first = bundle(["sleep", "30"])
    a = hull.create(first)
    pid = hull.state(a)["pid"]
    second = userns_bundle(bundle, ["sh", "-c", "readlink /proc/self/ns/uts; id -u; echo $$"])
    second.add_namespace("uts", f"/proc/{pid}/ns/uts")
    second.config.pop("hostname", None)
    second.save()
    p = hull.run(second)
    assert p.returncode == 0, p.stderr
    uts, uid, mypid = p.stdout.split()
    assert uts == os.readlink(f"/proc/{pid}/ns/uts") and uid == "0" and mypid == "1"
    hull.oci("delete", "--force", a)


def test_joining_a_pid_namespace_by_path(hull, bundle):
    first = bundle(["sleep", "30"])
    a = hull.create(first)
    hull.oci("start", a)
    pid = hull.state(a)["pid"]
    second = bundle(["sh", "-c", "ps -o comm"])
    second.add_namespace("pid", f"/proc/{pid}/ns/pid")
    second.save()
    p = hull.run(second)
    assert "sleep" in p.stdout.split(), p.stdout + p.stderr
    hull.oci("delete", "--force", a)


def test_namespace_path_of_the_wrong_kind_is_refused(hull, bundle):
    b = bundle(["true"])
    b.add_namespace("network", "/proc/self/ns/uts")
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert "linux.namespaces[" in p.stderr and "is a uts namespace, not a net one" in p.stderr
