"""Where engines and runc's and crun's own tests look (issue 18): hull behaves as runc does
for the cgroup namespace of `spec`, HOME, unknown capabilities, a missing cwd, mount
destinations that are symlinks, the hooks' moments and environment, a read-only /dev,
--no-pivot, the host name sysctls, and a mount namespace that is joined or the caller's. Each test fails on the behaviour hull had before."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from hulltest import HULL_OCI, cgroup_layout, userns_bundle


# --- spec: a cgroup namespace only on a pure cgroup v2 host (runc; crun never adds one) ---

def test_spec_adds_a_cgroup_namespace_only_on_a_pure_v2_host(tmp_path):
    subprocess.run([str(HULL_OCI), "spec", "--bundle", str(tmp_path)], check=True)
    kinds = [n["type"] for n in json.loads((tmp_path / "config.json").read_text())["linux"]["namespaces"]]
    assert ("cgroup" in kinds) == (cgroup_layout() == "v2"), kinds


def test_a_config_that_appends_a_cgroup_namespace_to_specs_runs(hull, bundle):
    # Engines and test suites add one themselves: it must not be there twice.
    b = bundle(["true"])
    b.linux["namespaces"].append({"type": "cgroup"})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr


def test_specs_default_shows_the_containers_cgroup_path_on_v1(hull, bundle):
    if cgroup_layout() == "v2":
        pytest.skip("on pure v2 spec adds a cgroup namespace (runc's rule)")
    b = bundle(["cat", "/proc/self/cgroup"])
    cid = hull.new_id()
    p = hull.run(b, cid)
    assert p.returncode == 0, p.stderr
    assert f"/hull/{cid}" in p.stdout, p.stdout


# --- HOME from the container's /etc/passwd, else / (runc), for run and exec ---

APP_USER = "app:x:1000:1000:app:/home/app:/bin/sh\n"


def with_app_user(b):
    with open(b.rootfs / "etc" / "passwd", "a") as f:
        f.write(APP_USER)


@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/app"), (4242, "/")])
def test_run_sets_home_from_the_containers_passwd(hull, bundle, uid, home):
    b = bundle(["sh", "-c", 'echo "$HOME"'])
    with_app_user(b)
    b.process["user"] = {"uid": uid, "gid": uid}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout == home + "\n"


def test_run_keeps_a_home_the_config_gives(hull, bundle):
    b = bundle(["sh", "-c", 'echo "$HOME"'])
    b.process["env"].append("HOME=/given")
    b.save()
    assert hull.run(b).stdout == "/given\n"


def test_exec_sets_home_for_its_user(hull, bundle):
    b = bundle(["sleep", "1000"])
    with_app_user(b)
    cid = hull.create(b)
    try:
        hull.oci("start", cid)
        assert hull.oci("exec", cid, "sh", "-c", 'echo "$HOME"').stdout == "/root\n"
        assert hull.oci("exec", "-u", "1000", cid, "sh", "-c", 'echo "$HOME"').stdout == "/home/app\n"
        assert hull.oci("exec", "-e", "HOME=/x", cid, "sh", "-c", 'echo "$HOME"').stdout == "/x\n"
    finally:
        hull.oci("delete", "--force", cid)


# --- unknown capabilities: a warning, skipped (runtime-spec 1.1+) ---

def cap_mask(status, field):
    line = [l for l in status.splitlines() if l.startswith(field + ":")][0]
    return int(line.split()[1], 16)


def test_unknown_capabilities_are_warned_about_and_skipped(hull, bundle):
    b = bundle(["cat", "/proc/self/status"])
    b.process["capabilities"] = {k: ["CAP_KILL", "CAP_NOT_A_THING"] for k in ("bounding", "effective", "permitted")}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "warning" in p.stderr and "CAP_NOT_A_THING" in p.stderr, p.stderr
    assert cap_mask(p.stdout, "CapBnd") == 1 << 5


def test_exec_cap_with_an_unknown_name_warns_and_runs(hull, bundle):
    b = bundle(["sleep", "1000"])
    cid = hull.create(b)
    try:
        hull.oci("start", cid)
        p = hull.oci("exec", "--cap", "CAP_NOPE", "--cap", "CAP_NET_ADMIN", cid, "cat", "/proc/self/status")
        assert "warning" in p.stderr and "CAP_NOPE" in p.stderr, p.stderr
        assert cap_mask(p.stdout, "CapEff") & (1 << 12)
    finally:
        hull.oci("delete", "--force", cid)


# --- a missing process.cwd is created (runc, crun) ---

def test_a_missing_cwd_is_created(hull, bundle):
    b = bundle(["sh", "-c", "pwd; stat -c '%u %a' ."])
    b.process["cwd"] = "/work/deep/here"
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["/work/deep/here", "0 755"]


def test_a_cwd_that_is_a_file_is_still_an_error(hull, bundle):
    b = bundle(["true"])
    (b.rootfs / "afile").write_text("")
    b.process["cwd"] = "/afile"
    b.save()
    p = hull.run(b)
    assert p.returncode != 0 and "/afile" in p.stderr, p.stderr


# --- mount destinations that are symlinks inside the rootfs ---

def test_a_read_only_bind_on_a_symlinked_destination(hull, bundle, tmp_path):
    # /etc/localtime -> /usr/share/zoneinfo/UTC (absolute: resolved inside the root), as images have it.
    src = tmp_path / "zone"
    src.write_text("host zone\n")
    b = bundle(["sh", "-c", "cat /etc/localtime; cat /usr/share/zoneinfo/UTC; echo x > /etc/localtime || echo ro"])
    zone = b.rootfs / "usr" / "share" / "zoneinfo"
    zone.mkdir(parents=True)
    (zone / "UTC").write_text("image zone\n")
    (b.rootfs / "etc" / "localtime").symlink_to("/usr/share/zoneinfo/UTC")
    b.config["mounts"].append({"destination": "/etc/localtime", "type": "bind", "source": str(src),
                               "options": ["bind", "ro"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["host zone", "host zone", "ro"]
    assert (zone / "UTC").read_text() == "image zone\n"


def test_a_dangling_symlinked_destination_gets_its_target_created(hull, bundle, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("from host\n")
    b = bundle(["cat", "/data/f", "/var/lib/data/f"])
    (b.rootfs / "data").symlink_to("var/lib/data")  # relative, and var/lib/data does not exist
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                               "options": ["rbind", "ro"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "from host\nfrom host\n"
    assert (b.rootfs / "var" / "lib" / "data").is_dir()


# --- hooks ---

def write_hook(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_start_container_hooks_run_under_the_seccomp_filter(hull, bundle):
    b = bundle(["true"], readonly=False)
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    b.config["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "mkdir /tmp/by-hook; echo $? > /tmp/hook-rc"]}]}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert (b.rootfs / "tmp" / "hook-rc").read_text().strip() != "0"
    assert not (b.rootfs / "tmp" / "by-hook").exists()


def test_create_container_hooks_run_in_the_rootfs(hull, bundle, tmp_path):
    out = tmp_path / "cwd"
    b = bundle(["true"])
    b.config["hooks"] = {"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", f"pwd -P > {out}"]}]}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert out.read_text().strip() == os.path.realpath(b.rootfs)


def test_hooks_without_env_inherit_the_runtimes(hull, bundle, tmp_path):
    out = tmp_path / "env"
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": write_hook(tmp_path / "h.sh", f'echo "$HULL_HOOK_MARK" > {out}\n')}]}
    b.save()
    p = hull.run(b, None, env={**os.environ, "HULL_HOOK_MARK": "inherited"})
    assert p.returncode == 0, p.stderr
    assert out.read_text() == "inherited\n"


def test_prestart_sees_created_and_create_runtime_creating(hull, bundle, tmp_path):
    b = bundle(["true"])
    b.config["hooks"] = {kind: [{"path": write_hook(tmp_path / f"{kind}.sh", f"cat > {tmp_path / kind}.json\n")}]
                         for kind in ("prestart", "createRuntime")}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    status = {k: json.loads((tmp_path / f"{k}.json").read_text())["status"] for k in ("prestart", "createRuntime")}
    assert status == {"prestart": "created", "createRuntime": "creating"}


# --- a read-only /dev tmpfs: populated read-write, read-only at the end ---

def test_a_read_only_dev_tmpfs_is_populated_then_read_only(hull, bundle):
    b = bundle(["sh", "-c", "ls /dev/null /dev/zero /dev/pts /dev/shm >/dev/null && echo populated; "
                            "touch /dev/new 2>/dev/null || echo ro; echo x > /dev/shm/f && echo shm-rw"])
    for m in b.config["mounts"]:
        if m["destination"] == "/dev":
            m["options"].append("ro")
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["populated", "ro", "shm-rw"]


def test_a_read_only_dev_tmpfs_with_a_terminal(hull, bundle):
    b = bundle(["sh", "-c", "test -c /dev/console && echo console"])
    for m in b.config["mounts"]:
        if m["destination"] == "/dev":
            m["options"].append("ro")
    b.process["terminal"] = True
    b.save()
    p = subprocess.run(["script", "-qec", f"{HULL_OCI} --root {hull.root} run --bundle {b.path} {hull.new_id()}",
                        "/dev/null"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "console" in p.stdout, p.stdout + p.stderr


# --- --no-pivot leaves no full procfs or sysfs of the host in the mount namespace ---

@pytest.mark.parametrize("fs,flags", [("proc", "-Urmpf"), ("sysfs", "-Urmnf")])
def test_no_pivot_leaves_no_host_proc_or_sys_to_mount_again(hull, bundle, fs, flags):
    # The kernel lets a nested user namespace mount a fresh procfs/sysfs only if a fully
    # visible one exists in its mount namespace: the host's, out of the chroot's reach but
    # still there, would be one. hull's own /proc has masked paths, so it is not.
    # The tmpfs shows the nested namespace itself works, so the refusal is the kernel's check.
    b = bundle(["sh", "-c", f"unshare {flags} sh -c 'mount -t tmpfs none /mnt && echo TMPFS; "
                            f"mount -t {fs} none /mnt && echo MOUNTED' 2>&1; true"])
    b.linux.pop("seccomp", None)  # the default profile refuses unshare(CLONE_NEWUSER) already
    # Not root: mapping host uid 0 into a user namespace needs CAP_SETFCAP (kernel 5.12+).
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.save()
    control = hull.run(b)
    assert "TMPFS" in control.stdout and "MOUNTED" not in control.stdout, control.stdout
    p = hull.run(b, None, "--no-pivot")
    assert p.returncode == 0, p.stderr
    assert "TMPFS" in p.stdout and "MOUNTED" not in p.stdout, p.stdout


# --- kernel.hostname/kernel.domainname sysctls that contradict hostname/domainname ---

@pytest.mark.parametrize("key,field", [("kernel.hostname", "hostname"), ("kernel.domainname", "domainname")])
def test_a_conflicting_host_name_sysctl_is_refused(hull, bundle, key, field):
    b = bundle(["true"])
    b.config[field] = "spec-name"
    b.linux["sysctl"] = {key: "other-name"}
    b.save()
    p = hull.run(b)
    assert p.returncode != 0
    assert key in p.stderr and field in p.stderr, p.stderr


def test_an_agreeing_host_name_sysctl_is_fine(hull, bundle):
    b = bundle(["hostname"])
    b.config["hostname"] = "same"
    b.linux["sysctl"] = {"kernel.hostname": "same"}
    b.save()
    p = hull.run(b)
    assert p.returncode == 0 and p.stdout == "same\n", p.stderr


# --- update --memory -1 with a memory+swap limit in force (cgroup v1) ---

@pytest.mark.cgroup
def test_update_memory_unlimited_with_a_memsw_limit(hull, bundle):
    base = Path("/sys/fs/cgroup/memory")
    if not (base / "memory.memsw.limit_in_bytes").exists():
        pytest.skip("needs cgroup v1 memory with swap accounting")
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {"limit": 64 << 20, "swap": 128 << 20}
    b.save()
    cid = hull.create(b)
    try:
        d = base / "hull" / cid
        assert int((d / "memory.memsw.limit_in_bytes").read_text()) == 128 << 20
        p = hull.oci("update", "--memory", "-1", cid, check=False)
        assert p.returncode == 0, p.stderr
        assert int((d / "memory.limit_in_bytes").read_text()) > 1 << 50
        assert int((d / "memory.memsw.limit_in_bytes").read_text()) > 1 << 50
        # And back: a limit again, memsw as stored.
        hull.oci("update", "--memory", "32m", cid)
        assert int((d / "memory.limit_in_bytes").read_text()) == 32 << 20
    finally:
        hull.oci("delete", "--force", cid)


# --- device access strings: letters outside rwm are warned about, not fatal (runc) ---

@pytest.mark.cgroup
def test_device_access_letters_outside_rwm_are_dropped_with_a_warning(hull, bundle):
    b = bundle(["sh", "-c", "helper open w /dev/kmsg; helper open rw /dev/loop-control"])
    b.linux["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11},
                          {"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237}]
    b.linux["resources"]["devices"] += [
        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "wx"},
        {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "q"}]
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "resources.devices[1].access" in p.stderr and "warning" in p.stderr, p.stderr
    # "wx" grants w; "q" grants nothing.
    assert p.stdout.splitlines() == ["/dev/kmsg: ok", "/dev/loop-control: EPERM"], p.stdout


# --- id-mapped bind mounts (idmap/ridmap, mount_setattr MOUNT_ATTR_IDMAP) ---

@pytest.mark.parametrize("option", ["idmap", "ridmap"])
def test_an_idmapped_bind_shows_host_root_files_as_the_containers_root(hull, bundle, tmp_path, option):
    # The volume is root's on the host; the container's root is host uid 100000. Through the
    # id-mapped bind, root's files are the container root's, and what it writes is root's.
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("x")
    b = userns_bundle(bundle, ["sh", "-c", "stat -c '%u %g' /vol/f; touch /vol/made && echo made"])
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(vol),
                               "options": ["bind", option]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["0 0", "made"]
    st = (vol / "made").stat()
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_an_idmapped_bind_with_maps_of_its_own(hull, bundle, tmp_path):
    # The mount's maps: what the disk stores as 1000 is the container's 0 here (host 100000).
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("x")
    os.chown(vol / "f", 1000, 1000)
    b = userns_bundle(bundle, ["stat", "-c", "%u", "/vol/f"])
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(vol), "options": ["bind", "idmap"],
                               "uidMappings": [{"containerID": 1000, "hostID": 100000, "size": 1}],
                               "gidMappings": [{"containerID": 1000, "hostID": 100000, "size": 1}]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "0\n"


def test_idmap_without_a_user_namespace_is_refused(hull, bundle, tmp_path):
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(tmp_path), "options": ["bind", "idmap"]})
    b.save()
    p = hull.run(b)
    assert p.returncode != 0 and "user namespace" in p.stderr and "mounts[" in p.stderr, p.stderr


# --- a mount namespace the container shares: joined by path, or the caller's (none given) ---

def host_mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(str(path))]


def shared_mount_bundle(bundle, args, path=None):
    """No mount namespace of its own (or one joined by path): nothing that needs a mount."""
    b = bundle(args)
    b.remove_namespace("mount")
    if path:
        b.add_namespace("mount", path)
    b.config["mounts"] = []
    b.linux["maskedPaths"] = []
    b.linux["readonlyPaths"] = []
    b.config["root"]["readonly"] = False
    b.save()
    return b


def test_without_a_mount_namespace_the_container_runs_chrooted_in_the_callers(hull, bundle):
    b = shared_mount_bundle(bundle, ["sleep", "600"])
    (b.rootfs / "etc" / "marker").write_text("in the rootfs\n")
    cid = hull.create(b)
    hull.oci("start", cid)
    pid = hull.state(cid)["pid"]
    # the caller's mount namespace, the rootfs as root, and nothing mounted on the host for it
    assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    assert os.readlink(f"/proc/{pid}/root") == str(b.rootfs)
    assert host_mounts_under(b.path) == []
    # exec enters the same root (its /proc is the rootfs's empty directory: nothing mounted)
    p = hull.oci("exec", "--cwd", "/tmp", cid, "sh", "-c", "cat /etc/marker; pwd; ls /proc | wc -l")
    assert p.stdout.split("\n")[:3] == ["in the rootfs", "/tmp", "0"], p.stdout
    hull.oci("delete", "--force", cid)
    assert host_mounts_under(b.path) == []


def test_without_a_mount_namespace_the_hosts_root_may_be_the_root(hull, bundle):
    # No chroot then, and nothing to leave: CAP_SYS_CHROOT may stay.
    b = shared_mount_bundle(bundle, ["readlink", "/proc/self/ns/mnt"])
    b.config["root"]["path"] = "/"
    b.process["capabilities"]["bounding"].append("CAP_SYS_CHROOT")
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.readlink("/proc/self/ns/mnt")


@pytest.mark.parametrize("change,field", [
    (lambda b: b.config.update(mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}]), "mounts[0]"),
    (lambda b: b.linux.update(maskedPaths=["/proc/kcore"]), "linux.maskedPaths"),
    (lambda b: b.linux.update(readonlyPaths=["/proc/sys"]), "linux.readonlyPaths"),
    (lambda b: b.config["root"].update(readonly=True), "root.readonly"),
    (lambda b: b.linux.update(rootfsPropagation="rslave"), "linux.rootfsPropagation"),
    (lambda b: b.linux.update(devices=[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]),
     "linux.devices"),
])
def test_without_a_mount_namespace_what_needs_a_mount_is_refused(hull, bundle, change, field):
    b = shared_mount_bundle(bundle, ["true"])
    change(b)
    b.save()
    p = hull.run(b)
    assert p.returncode == 1, p.stderr
    assert f": {field}: " in p.stderr, p.stderr
    assert "needs a mount namespace of the container's own; linux.namespaces has none" in p.stderr
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert host_mounts_under(b.path) == []


def test_without_a_mount_namespace_a_chroot_with_cap_sys_chroot_is_refused(hull, bundle):
    # A chroot is no boundary for a process that may chroot again (mkdir x; chroot x; cd ..).
    b = shared_mount_bundle(bundle, ["true"])
    b.process["capabilities"]["bounding"].append("CAP_SYS_CHROOT")
    b.save()
    p = hull.run(b)
    assert p.returncode == 1
    assert "process.capabilities.bounding: CAP_SYS_CHROOT would let the process leave its root" in p.stderr
    # exec --cap into a container without one is refused the same way
    b = shared_mount_bundle(bundle, ["sleep", "600"])
    cid = hull.create(b)
    hull.oci("start", cid)
    p = hull.oci("exec", "--cap", "CAP_SYS_CHROOT", cid, "true", check=False)
    assert p.returncode != 0 and "CAP_SYS_CHROOT would let the process leave its root" in p.stderr
    hull.oci("delete", "--force", cid)


@pytest.fixture
def mount_ns_file(tmp_path):
    """A mount namespace of its own kept by a bind of its nsfs file (unshare --mount=FILE),
    with a tmpfs that only it has on ROOTFS/mnt of a bundle made later."""
    d = tmp_path / "ns"
    d.mkdir()
    subprocess.run(["mount", "--bind", str(d), str(d)], check=True)
    subprocess.run(["mount", "--make-private", str(d)], check=True)
    f = d / "mnt"
    f.touch()
    yield f
    subprocess.run(["umount", "--lazy", str(f)], check=False)
    subprocess.run(["umount", "--lazy", str(d)], check=True)


def test_a_mount_namespace_joined_by_path_is_used_as_it_is(hull, bundle, mount_ns_file):
    b = shared_mount_bundle(bundle, ["sleep", "600"], path=str(mount_ns_file))
    # made in that namespace only: a tmpfs on the rootfs's /mnt, with a file in it
    script = f"mount -t tmpfs joined {b.rootfs}/mnt && echo only-in-the-joined-namespace > {b.rootfs}/mnt/f"
    subprocess.run(["unshare", f"--mount={mount_ns_file}", "--propagation", "private", "sh", "-c", script],
                   check=True)
    assert not (b.rootfs / "mnt" / "f").exists()
    cid = hull.create(b)
    hull.oci("start", cid)
    pid = hull.state(cid)["pid"]
    assert os.stat(f"/proc/{pid}/ns/mnt").st_ino == os.stat(mount_ns_file).st_ino
    p = hull.oci("exec", cid, "cat", "/mnt/f")
    assert p.stdout == "only-in-the-joined-namespace\n"
    # nothing mounted in it by hull: its table is the tmpfs plus what it was made with
    ns_mounts = subprocess.run(["nsenter", f"--mount={mount_ns_file}", "cat", "/proc/self/mountinfo"],
                               capture_output=True, text=True, check=True).stdout
    assert [l.split()[4] for l in ns_mounts.splitlines() if l.split()[4].startswith(str(b.path))] == \
        [str(b.rootfs / "mnt")]
    hull.oci("delete", "--force", cid)
    # the default spec's mounts are refused, naming the path
    b2 = bundle(["true"])
    b2.add_namespace("mount", str(mount_ns_file))
    b2.save()
    p = hull.run(b2)
    assert p.returncode == 1
    assert f"mounts[0]: a mount on /proc needs a mount namespace of the container's own; its mount namespace " \
           f"is joined ({mount_ns_file})" in p.stderr


# --- linux.devices: mknod where the kernel allows it (the initial user namespace), else binds ---

DEVICES = [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 1, "gid": 2}]
SHOW_DEVICES = "stat -c '%n %F %t,%T %a %u:%g' /dev/fuse /dev/null; grep -c ' /dev/fuse \\| /dev/null ' /proc/self/mountinfo; true"


def test_devices_are_made_with_mknod_in_a_user_namespace_joined_by_path_that_is_the_hosts(hull, bundle):
    # The host's user namespace joined by path (the caller's own: joining it is a no-op, where
    # setns would say EINVAL): mknod works there, so the nodes are made with the config's mode
    # and owner, as without a user namespace, not bound from the host.
    b = bundle(["sh", "-c", SHOW_DEVICES])
    b.add_namespace("user", f"/proc/{os.getpid()}/ns/user")
    b.linux["devices"] = DEVICES
    b.save()
    p = hull.run(b)
    want = ["/dev/fuse character special file a,e5 640 1:2", "/dev/null character special file 1,3 666 0:0", "0"]
    assert p.stdout.splitlines() == want, p.stdout + p.stderr
    # exec into it joins every namespace but that one, which it is in already
    b.process["args"] = ["sleep", "600"]
    b.save()
    cid = hull.create(b)
    hull.oci("start", cid)
    assert hull.oci("exec", cid, "sh", "-c", SHOW_DEVICES).stdout.splitlines() == want
    hull.oci("delete", "--force", cid)


def test_devices_are_bound_from_the_host_in_a_new_user_namespace_even_one_mapping_0_to_0(hull, bundle):
    # A new user namespace has no CAP_MKNOD where it counts (the initial one), whatever it maps:
    # the host's nodes are bound, their mode and owner the host's.
    b = userns_bundle(bundle, ["sh", "-c", SHOW_DEVICES], host_id=0)
    b.linux["devices"] = DEVICES
    b.save()
    p = hull.run(b)
    lines = p.stdout.splitlines()
    assert lines[0] == "/dev/fuse character special file a,e5 600 0:0", p.stdout + p.stderr
    assert lines[2] == "2"
