"""Capabilities, process attributes (personality, I/O priority, scheduler), LSM labels, and the
device controller (linux.resources.devices: v1 files, or hull's own eBPF program on v2)."""
import ctypes
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL_OCI


def status_caps(text):
    return {k: int(v, 16) for k, v in (l.split(":\t") for l in text.splitlines() if l.startswith("Cap"))}


def bits(*caps):
    names = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
             "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
             "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
             "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE"]
    return sum(1 << names.index(c) for c in caps)


# Capabilities.

def test_each_capability_set_is_exactly_the_configs(hull, bundle):
    b = bundle(["grep", "^Cap", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"],
        "effective": ["CAP_KILL"],
        "inheritable": ["CAP_CHOWN"],
        "ambient": ["CAP_CHOWN"],
    }
    b.save()
    caps = status_caps(hull.run(b).stdout)
    assert caps["CapBnd"] == bits("KILL", "CHOWN", "NET_RAW")
    assert caps["CapInh"] == bits("CHOWN")
    assert caps["CapAmb"] == bits("CHOWN")
    # After the exec a non-root process keeps its ambient set, in permitted and effective.
    assert caps["CapPrm"] == caps["CapEff"] == bits("CHOWN")


def test_lowercase_and_short_names_are_accepted_unknown_ones_warned_and_skipped(hull, bundle):
    b = bundle(["grep", "^CapBnd", "/proc/self/status"])
    b.process["capabilities"] = {"bounding": ["kill", "CAP_chown"]}
    b.save()
    assert status_caps(hull.run(b).stdout)["CapBnd"] == bits("KILL", "CHOWN")
    b.process["capabilities"] = {"bounding": ["CAP_KILL", "CAP_FLY"]}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "process.capabilities.bounding[1]" in p.stderr and "CAP_FLY" in p.stderr
    assert status_caps(p.stdout)["CapBnd"] == bits("KILL")


def test_no_capabilities_object_keeps_roots_capabilities(hull, bundle):
    b = bundle(["grep", "^CapEff", "/proc/self/status"])
    del b.process["capabilities"]
    b.linux.pop("seccomp")
    b.save()
    assert status_caps(hull.run(b).stdout)["CapEff"] != 0


# Process attributes (runtime-spec 1.2).

def test_personality_linux32(hull, bundle):
    b = bundle(["uname", "-m"])
    b.linux["personality"] = {"domain": "LINUX32"}
    b.save()
    p = hull.run(b)
    assert p.stdout.strip() in ("i686", "armv8l"), p.stderr
    b.linux["personality"] = {"domain": "LINUX"}
    b.save()
    assert hull.run(b).stdout.strip() == os.uname().machine


@pytest.mark.parametrize("klass,level,shown", [("IOPRIO_CLASS_BE", 3, "best-effort: prio 3"),
                                               ("IOPRIO_CLASS_IDLE", 0, "idle"),
                                               ("IOPRIO_CLASS_RT", 5, "realtime: prio 5")])
def test_io_priority(hull, bundle, klass, level, shown):
    b = bundle(["ionice", "-p", "1"])
    b.process["ioPriority"] = {"class": klass, "priority": level}
    b.save()
    p = hull.run(b)
    assert p.stdout.strip() == shown, p.stderr


def stat_fields(text):
    return text[text.rindex(")") + 2:].split()


@pytest.mark.parametrize("policy,number", [("SCHED_BATCH", 3), ("SCHED_IDLE", 5), ("SCHED_OTHER", 0)])
def test_scheduler(hull, bundle, policy, number):
    b = bundle(["cat", "/proc/self/stat"])
    b.process["scheduler"] = {"policy": policy, "nice": 7 if policy != "SCHED_IDLE" else 0}
    b.save()
    f = stat_fields(hull.run(b).stdout)
    # /proc/PID/stat: nice is field 19, policy field 41 (fields counted from 1, pid first).
    assert int(f[40 - 2]) == number
    if policy != "SCHED_IDLE":
        assert int(f[19 - 3]) == 7


def test_an_unknown_scheduler_policy_is_refused(hull, bundle):
    b = bundle(["true"])
    b.process["scheduler"] = {"policy": "SCHED_FAST"}
    b.save()
    p = hull.run(b)
    assert p.returncode == 1 and 'process.scheduler.policy: unknown scheduler policy "SCHED_FAST"' in p.stderr


# LSM labels: applied where the LSM is enabled, a clear error where it is not.

def apparmor_enabled():
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


def selinux_enabled():
    return Path("/sys/fs/selinux/enforce").exists()


@pytest.mark.skipif(apparmor_enabled(), reason="AppArmor is enabled here: the label applies")
def test_apparmor_profile_without_apparmor_is_a_clear_error(hull, bundle):
    b = bundle(["true"])
    b.process["apparmorProfile"] = "hull-default"
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert p.stderr.strip().endswith(
        'process.apparmorProfile: "hull-default" asked for, but AppArmor is not enabled on this host'), p.stderr
    assert not list(hull.root.glob("t*"))


@pytest.mark.skipif(selinux_enabled(), reason="SELinux is enabled here: the label applies")
def test_selinux_label_without_selinux_is_a_clear_error(hull, bundle):
    b = bundle(["true"])
    b.process["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert 'process.selinuxLabel: "system_u:system_r:container_t:s0:c1,c2" asked for, but SELinux is not enabled' \
        in p.stderr
    b.process.pop("selinuxLabel")
    b.linux["mountLabel"] = "system_u:object_r:container_file_t:s0"
    b.save()
    p = hull.run(b)
    assert p.returncode == 1 and "linux.mountLabel" in p.stderr and "SELinux is not enabled" in p.stderr


def test_features_reports_what_is_enforced(hull):
    import json
    f = json.loads(hull.oci("features").stdout)["linux"]
    assert "SCMP_ACT_NOTIFY" in f["seccomp"]["actions"]
    assert f["apparmor"]["enabled"] == apparmor_enabled() and f["selinux"]["enabled"] == selinux_enabled()


# Devices. Host nodes are bound into the container, so they exist there and only the device
# controller stands between the container and them.

DEVICE_MOUNTS = [{"destination": d, "type": "bind", "source": d, "options": ["bind"]}
                 for d in ("/dev/kmsg", "/dev/loop-control")]
PROBE = ["sh", "-c", "helper open rw /dev/null /dev/zero /dev/loop-control; helper open w /dev/kmsg"]


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    return None


def hybrid():
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[line.split().index("-") + 1] == "cgroup" for line in f) and cgroup2_mount()


def run_devices(hull, b, layout):
    """Runs on the host's own layout, or (on a hybrid host) with hull seeing only its cgroup2
    mount, so that the v2 path — the eBPF program — is what enforces the rules."""
    if layout == "host":
        return hull.run(b)
    if not hybrid():
        pytest.skip("the cgroup2-only view is for hybrid hosts; a v2 host runs the host variant")
    script = (f"umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "
              f"exec {HULL_OCI} --root {hull.root} run --bundle {b.path} {hull.new_id()}")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.cgroup
@pytest.mark.parametrize("layout", ["host", "cgroup2"])
def test_allowed_devices_open_and_denied_ones_give_eperm(hull, bundle, layout):
    b = bundle(PROBE)
    b.config["mounts"] += DEVICE_MOUNTS
    # hull-oci spec's rules (deny all) plus one more device: /dev/kmsg, for writing.
    b.linux["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"})
    b.save()
    p = run_devices(hull, b, layout)
    assert p.stdout.splitlines() == ["/dev/null: ok", "/dev/zero: ok", "/dev/loop-control: EPERM",
                                     "/dev/kmsg: ok"], p.stderr


@pytest.mark.cgroup
@pytest.mark.parametrize("layout", ["host", "cgroup2"])
def test_without_device_rules_every_node_opens(hull, bundle, layout):
    # The control: the EPERM above comes from the rules, not from anything else.
    b = bundle(PROBE)
    b.config["mounts"] += DEVICE_MOUNTS
    b.linux["resources"]["devices"] = []
    b.save()
    p = run_devices(hull, b, layout)
    assert p.stdout.splitlines() == ["/dev/null: ok", "/dev/zero: ok", "/dev/loop-control: ok",
                                     "/dev/kmsg: ok"], p.stderr


@pytest.mark.cgroup
def test_linux_devices_nodes_are_not_allowed_past_a_deny_all(hull, bundle):
    # linux.devices only makes the node: linux.resources.devices alone decides whether it
    # opens (runc, crun). /dev/null, in runc's default allow-list, is the control.
    b = bundle(["sh", "-c", "helper open rw /dev/loop-control; helper open w /dev/kmsg; helper open w /dev/null"])
    b.linux["devices"] = [{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237},
                          {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["/dev/loop-control: EPERM", "/dev/kmsg: EPERM", "/dev/null: ok"], p.stderr


@pytest.mark.cgroup
def test_linux_devices_nodes_open_when_the_rules_allow_them(hull, bundle):
    b = bundle(["sh", "-c", "helper open rw /dev/loop-control; helper open w /dev/kmsg"])
    b.linux["devices"] = [{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237},
                          {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
    b.linux["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 237, "access": "rw"})
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["/dev/loop-control: ok", "/dev/kmsg: EPERM"], p.stderr


@pytest.mark.cgroup
def test_mknod_of_an_allowed_node_works_but_opening_a_denied_one_does_not(hull, bundle):
    b = bundle(["sh", "-c", "mknod /tmp/disk b 8 0 && echo made; helper open r /tmp/disk"], readonly=False)
    b.process["capabilities"] = {k: ["CAP_MKNOD"] for k in ("bounding", "effective", "permitted")}
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["made", "/tmp/disk: EPERM"], p.stderr


BPF_PROG_GET_FD_BY_ID, BPF_PROG_QUERY, BPF_CGROUP_DEVICE = 13, 16, 6


def bpf(cmd, attr):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(321, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return rc, ctypes.get_errno()


def device_programs(cgroup_dir):
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
    ids = (ctypes.c_uint32 * 8)()
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = fd
    ctypes.c_uint32.from_buffer(attr, 4).value = BPF_CGROUP_DEVICE
    ctypes.c_uint64.from_buffer(attr, 16).value = ctypes.addressof(ids)
    ctypes.c_uint32.from_buffer(attr, 24).value = 8
    rc, err = bpf(BPF_PROG_QUERY, attr)
    os.close(fd)
    assert rc == 0, os.strerror(err)
    return list(ids[:ctypes.c_uint32.from_buffer(attr, 24).value])


@pytest.mark.cgroup
def test_v2_device_program_is_attached_before_the_init_runs_and_goes_with_the_cgroup(hull, bundle, tmp_path):
    root = cgroup2_mount()
    if root is None:
        pytest.skip("no cgroup2 mount")
    b = bundle(["sh", "-c", "helper open rw /dev/loop-control; read line"])
    b.config["mounts"] += DEVICE_MOUNTS
    b.save()
    cid = hull.new_id()
    if hybrid():
        script = (f"umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "
                  f"exec {HULL_OCI} --root {hull.root} create --bundle {b.path} {cid}")
        subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    else:
        hull.create(b, cid)
    cg = Path(root) / "hull" / cid
    # Created, not started: the program is there already, before any of the container's code.
    [prog] = device_programs(cg)
    hull.oci("delete", "--force", cid)
    # The kernel releases a removed cgroup's programs from a work queue: give it a moment.
    deadline = time.time() + 30
    while True:
        attr = (ctypes.c_uint8 * 128)()
        ctypes.c_uint32.from_buffer(attr, 0).value = prog
        rc, err = bpf(BPF_PROG_GET_FD_BY_ID, attr)
        if rc < 0 or time.time() > deadline:
            break
        os.close(rc)
        time.sleep(0.05)
    assert rc < 0 and err == 2, "the device program outlived its cgroup"


@pytest.mark.cgroup
def test_update_rebuilds_the_device_rules_from_resources_alone(hull, bundle, tmp_path):
    # update rebuilds the device rules from the stored config: linux.devices adds nothing to
    # them, before or after, and an allow rule sent by update takes effect.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.mkfifo(shared / "go")
    probe = "(helper open rw /dev/loop-control; helper open w /dev/kmsg)"
    b = bundle(["sh", "-c", f"{probe} >/s/1; cat /s/go; {probe} >/s/2; cat /s/go; {probe} >/s/3"])
    b.linux["devices"] = [{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237}]
    b.config["mounts"] += DEVICE_MOUNTS[:1]  # /dev/kmsg
    b.config["mounts"].append({"destination": "/s", "type": "bind", "source": str(shared), "options": ["bind"]})
    b.save()
    cid = hull.create(b)
    hull.oci("start", cid)

    def result(n):
        f = shared / str(n)
        deadline = time.time() + 30
        while not (f.exists() and f.read_text().count("\n") == 2):
            assert time.time() < deadline, f"no probe {n}"
            time.sleep(0.05)
        return f.read_text().splitlines()

    def go():
        with open(shared / "go", "w"):
            pass

    assert result(1) == ["/dev/loop-control: EPERM", "/dev/kmsg: EPERM"]
    hull.oci("update", "--pids-limit", "50", cid)
    go()
    assert result(2) == ["/dev/loop-control: EPERM", "/dev/kmsg: EPERM"]
    hull.oci("update", "-r", "-", cid, input=json.dumps(
        {"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 11,
                      "access": "w"}]}))
    go()
    assert result(3) == ["/dev/loop-control: EPERM", "/dev/kmsg: ok"]
    hull.oci("delete", "--force", cid)


# User and group ids: the kernel reads (uid_t)-1 as "unchanged", so 4294967295 would run the
# process as root (issue 16). Everything above 2^31-1 is refused, as runc does, naming the field.

BIG = 4294967295


@pytest.mark.parametrize("field,value,path", [
    ("uid", BIG, "process.user.uid"),
    ("gid", BIG, "process.user.gid"),
    ("additionalGids", [BIG], "process.user.additionalGids[0]"),
    ("uid", 2147483648, "process.user.uid"),
])
def test_a_user_id_above_int32_max_is_refused(hull, bundle, field, value, path):
    b = bundle(["id"])
    b.process["user"][field] = value
    b.save()
    p = hull.run(b)
    shown = value[0] if isinstance(value, list) else value
    assert p.returncode == 1 and p.stdout == "", (p.stdout, p.stderr)
    assert p.stderr.strip().endswith(f"{path}: {shown} is out of range (at most 2147483647)"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_a_user_id_of_int32_max_runs(hull, bundle):
    b = bundle(["helper", "ids"])
    b.process["user"].update({"uid": 2147483647, "gid": 2147483647})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "uid=2147483647 euid=2147483647 gid=2147483647 egid=2147483647", p.stdout


def test_exec_refuses_user_ids_above_int32_max(hull, bundle, tmp_path):
    cid = hull.create(bundle(["sleep", "30"]))
    hull.oci("start", cid)
    for args, want in ((["-u", str(BIG)], f'--user "{BIG}": {BIG} is out of range (at most 2147483647)'),
                       (["-u", f"0:{BIG}"], f'--user "0:{BIG}": {BIG} is out of range (at most 2147483647)'),
                       (["-g", str(BIG)], f"--additional-gids {BIG}: out of range (at most 2147483647)")):
        p = hull.oci("exec", *args, cid, "id", check=False)
        assert p.returncode == 255 and p.stdout == "", (args, p.stdout)
        assert p.stderr.strip().endswith(want), (args, p.stderr)
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["id"], "cwd": "/", "user": {"uid": 0, "gid": BIG}}))
    p = hull.oci("exec", "--process", proc, cid, check=False)
    assert p.returncode == 255 and p.stdout == "", p.stdout
    assert p.stderr.strip().endswith(f"user.gid: {BIG} is out of range (at most 2147483647)"), p.stderr
    hull.oci("delete", "--force", cid)


def test_friendly_user_ids_above_int32_max_are_refused(friendly):
    for user, want in ((str(BIG), f"-u: uid {BIG} is out of range"), (f"0:{BIG}", f"-u: gid {BIG} is out of range")):
        p = friendly("run", "--rm", "-u", user, "host", "id", check=False)
        assert p.returncode == 125 and p.stdout == "", (user, p.stdout)
        assert want in p.stderr and len(p.stderr.strip().splitlines()) == 1, (user, p.stderr)
