"""The container's file system: rootfs, mounts and their options, /dev, masked and read-only
paths, pivot_root and --no-pivot."""
import os
import subprocess



def mountinfo_of(output, point):
    for line in output.splitlines():
        f = line.split()
        if len(f) > 4 and f[4] == point:
            return line
    return None


def test_read_only_bind_mount_of_a_host_directory_cannot_be_written(hull, bundle, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    (host / "file").write_text("from the host\n")
    b = bundle(["sh", "-c", "cat /data/file; echo x > /data/new; echo rc=$?"])
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(host), "options": ["rbind", "ro"]})
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines()[0] == "from the host"
    assert "rc=1" in p.stdout and "Read-only file system" in p.stderr
    assert not (host / "new").exists()


def test_read_write_bind_mount_writes_reach_the_host(hull, bundle, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    b = bundle(["sh", "-c", "echo written > /data/new"])
    b.config["mounts"].append({"destination": "/data", "type": "none", "source": str(host), "options": ["bind"]})
    b.save()
    assert hull.run(b).returncode == 0
    assert (host / "new").read_text() == "written\n"


def test_relative_bind_source_is_relative_to_the_bundle(hull, bundle):
    b = bundle(["cat", "/data/f"])
    (b.path / "shared").mkdir()
    (b.path / "shared" / "f").write_text("bundle-relative\n")
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": "shared", "options": ["bind"]})
    b.save()
    assert hull.run(b).stdout == "bundle-relative\n"


def test_bind_mount_of_a_single_file(hull, bundle, tmp_path):
    f = tmp_path / "hosts"
    f.write_text("10.0.0.1 somewhere\n")
    b = bundle(["cat", "/etc/hosts"])
    b.config["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": str(f), "options": ["bind", "ro"]})
    b.save()
    assert hull.run(b).stdout == "10.0.0.1 somewhere\n"


def test_tmpfs_size_mode_and_flags(hull, bundle):
    b = bundle(["sh", "-c", "stat -c %a /scratch; cat /proc/self/mountinfo"])
    b.config["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1750"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "1750"
    mi = mountinfo_of(p.stdout, "/scratch")
    opts = mi.split()[5].split(",")
    assert {"nosuid", "nodev", "noexec"} <= set(opts)
    assert "size=1024k" in mi.split(" - ")[1]


def test_tmpcopyup_fills_the_tmpfs_with_what_the_image_has_there(hull, bundle):
    b = bundle(["sh", "-c", "cat /seed/file /seed/sub/deep; stat -c '%a %u:%g' /seed/sub /seed/file; "
                "readlink /seed/link; echo new > /seed/file; cat /seed/file; "
                "grep ' /seed ' /proc/self/mountinfo | grep -c tmpfs; grep ' /ro ' /proc/self/mountinfo; "
                "cat /ro/x; touch /ro/y || echo ro-refused"])
    seed = b.rootfs / "seed"
    (seed / "sub").mkdir(parents=True)
    (seed / "file").write_text("image file\n")
    (seed / "sub" / "deep").write_text("deep file\n")
    os.chmod(seed / "sub", 0o705)
    os.chown(seed / "file", 1000, 1001)
    os.chmod(seed / "file", 0o646)  # "other" may write: the default capabilities lack DAC_OVERRIDE
    (seed / "link").symlink_to("/nowhere")
    (b.rootfs / "ro").mkdir()
    (b.rootfs / "ro" / "x").write_text("x\n")
    b.config["mounts"].append({"destination": "/seed", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]})
    b.config["mounts"].append({"destination": "/ro", "type": "tmpfs", "source": "tmpfs",
                               "options": ["ro", "tmpcopyup", "mode=755"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:7] == ["image file", "deep file", "705 0:0", "646 1000:1001", "/nowhere", "new", "1"], p.stdout
    assert " ro," in lines[7] or lines[7].split()[5].startswith("ro"), lines[7]
    assert lines[8:] == ["x", "ro-refused"], p.stdout
    # The copy is the container's: the image underneath kept its content.
    assert (seed / "file").read_text() == "image file\n"


def test_tmpcopyup_on_a_bind_mount_is_refused(hull, bundle, tmp_path):
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/x", "type": "bind", "source": str(tmp_path),
                               "options": ["bind", "tmpcopyup"]})
    b.save()
    p = hull.run(b)
    assert p.returncode == 1 and "mounts[" in p.stderr and "tmpcopyup applies to tmpfs mounts only" in p.stderr


def test_mounts_are_made_in_order(hull, bundle, tmp_path):
    host = tmp_path / "inner"
    host.mkdir()
    (host / "marker").write_text("inner\n")
    b = bundle(["cat", "/outer/inner/marker"])
    b.config["mounts"].append({"destination": "/outer", "type": "tmpfs", "source": "tmpfs"})
    b.config["mounts"].append({"destination": "/outer/inner", "type": "bind", "source": str(host), "options": ["bind"]})
    b.save()
    assert hull.run(b).stdout == "inner\n"


def test_atime_and_propagation_options(hull, bundle):
    b = bundle(["cat", "/proc/self/mountinfo"])
    b.config["mounts"].append({"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["noatime", "private"]})
    b.config["mounts"].append({"destination": "/b", "type": "tmpfs", "source": "tmpfs", "options": ["strictatime", "shared"]})
    b.save()
    p = hull.run(b)
    a, bb = mountinfo_of(p.stdout, "/a"), mountinfo_of(p.stdout, "/b")
    assert "noatime" in a.split()[5] and "shared:" not in a
    assert "relatime" not in bb.split()[5] and "noatime" not in bb.split()[5] and "shared:" in bb


def test_readonly_root(hull, bundle):
    b = bundle(["sh", "-c", "touch /newfile; echo rc=$?"], readonly=True)
    p = hull.run(b)
    assert "rc=1" in p.stdout and "Read-only file system" in p.stderr
    b.config["root"]["readonly"] = False
    b.save()
    assert "rc=0" in hull.run(b).stdout
    assert (b.rootfs / "newfile").exists()


def test_absolute_root_path(hull, bundle):
    b = bundle(["echo", "ok"])
    b.config["root"]["path"] = str(b.rootfs)
    b.save()
    assert hull.run(b).stdout == "ok\n"


def test_default_devices_exist_even_with_no_linux_devices(hull, bundle):
    b = bundle(["sh", "-c", "for d in null zero full random urandom tty; do stat -c '%n %F %t,%T %a' /dev/$d; done;"
                            " for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; test -d /dev/shm && echo shm"])
    b.linux.pop("devices", None)
    b.save()
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    expect = {"null": "1,3", "zero": "1,5", "full": "1,7", "random": "1,8", "urandom": "1,9", "tty": "5,0"}
    for line, (name, dev) in zip(lines, expect.items()):
        major, minor = (int(x) for x in dev.split(","))
        assert line == f"/dev/{name} character special file {major:x},{minor:x} 666", line
    assert lines[6:11] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx"]
    assert lines[11] == "shm"


def test_linux_devices_are_created(hull, bundle):
    b = bundle(["stat", "-c", "%F %t %T %a %u %g", "/dev/fuse", "/dev/loop-test"])
    b.linux["devices"] = [
        {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 0o600, "uid": 0, "gid": 0},
        {"type": "b", "path": "/dev/loop-test", "major": 7, "minor": 200, "fileMode": 0o640, "uid": 1, "gid": 2},
    ]
    b.save()
    p = hull.run(b)
    assert p.stdout.splitlines() == ["character special file a e5 600 0 0", "block special file 7 c8 640 1 2"], p.stderr


def test_masked_paths_read_empty_and_readonly_paths_refuse_writes(hull, bundle, tmp_path):
    # /proc/timer_list (a file) and /sys/firmware (a directory) exist on these hosts.
    assert os.path.getsize("/proc/timer_list") == 0 and open("/proc/timer_list").read()
    b = bundle(["sh", "-c", "wc -c < /proc/timer_list; stat -c %t,%T /proc/timer_list; ls -A /sys/firmware | wc -l;"
                            " echo 1 > /proc/sys/kernel/ns_last_pid; echo rc=$?"])
    b.linux["maskedPaths"] = ["/proc/timer_list", "/sys/firmware", "/proc/does-not-exist"]
    b.save()
    p = hull.run(b)
    lines = p.stdout.split()
    assert lines[:3] == ["0", "1,3", "0"], p.stdout + p.stderr
    assert "rc=1" in p.stdout and "Read-only file system" in p.stderr


def test_proc_sys_and_cgroup_mounts(hull, bundle):
    b = bundle(["sh", "-c", "cat /proc/self/mountinfo; ls /sys/fs/cgroup"])
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert mountinfo_of(p.stdout, "/proc").split(" - ")[1].startswith("proc ")
    sysline = mountinfo_of(p.stdout, "/sys")
    assert sysline.split(" - ")[1].startswith("sysfs ") and "ro" in sysline.split()[5].split(",")
    cg = mountinfo_of(p.stdout, "/sys/fs/cgroup")
    assert cg is not None


def test_no_pivot_uses_move_and_chroot(hull, bundle):
    b = bundle(["sh", "-c", "echo $$; ls /"])
    p = hull.run(b, None, "--no-pivot")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0] == "1" and "bin" in p.stdout.split()


def test_rootfs_propagation_private_and_slave(hull, tmp_path, base_rootfs):
    # This host's mounts are all private: make a shared mount to hold the bundles, so the
    # difference between rslave (receives from the host) and rprivate shows.
    from hulltest import Bundle
    shared = tmp_path / "shared"
    shared.mkdir()
    subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True)
    subprocess.run(["mount", "--make-rshared", str(shared)], check=True)
    try:
        for prop, expect_master in (("rslave", True), ("rprivate", False)):
            b = Bundle.create(shared / prop, base_rootfs, args=["cat", "/proc/self/mountinfo"])
            b.linux["rootfsPropagation"] = prop
            b.save()
            p = hull.run(b)
            root = mountinfo_of(p.stdout, "/")
            assert ("master:" in root) == expect_master, (prop, root)
    finally:
        subprocess.run(["umount", "-R", str(shared)], check=True)
