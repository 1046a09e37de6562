"""Images: load, import, run from an image (config applied as docker does), the writable
layer's life, rmi, prune, save, hostile archives, crash safety, concurrent loads. Images are
made in the test (imagetest.py) from Debian's busybox-static."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL
from imagetest import Layer, busybox_layer, docker_archive, oci_layout, second_layer, sha256

IMG = "hulltest/busybox"


@pytest.fixture(scope="session")
def base_layer():
    return busybox_layer()


@pytest.fixture
def loaded(friendly, tmp_path, base_layer):
    """busybox + a second layer (a file added, one deleted, an opaque dir), loaded."""
    arch = tmp_path / "busybox.tar"
    docker_archive(arch, [base_layer, second_layer()], tags=(IMG + ":latest",),
                   Cmd=["echo", "from cmd"], Env=["PATH=/bin", "IMAGE_VAR=1"], WorkingDir="/home/app",
                   StopSignal="SIGUSR1", ExposedPorts={"8080/tcp": {}}, Volumes={"/data": {}})
    out = friendly("load", "-i", arch).stdout
    assert f"Loaded image: {IMG}:latest" in out
    return friendly


def store_files(friendly):
    root = friendly.state / "images"
    return {p.relative_to(root) for p in root.rglob("*") if "locks" not in p.parts}


def test_load_lists_and_runs_with_the_image_config(loaded):
    imgs = json.loads(loaded("images", "--format", "json").stdout)
    assert [i["names"] for i in imgs] == [["docker.io/hulltest/busybox:latest"]]
    assert imgs[0]["layers"] == 2
    table = loaded("images").stdout
    assert "hulltest/busybox" in table and "latest" in table and imgs[0]["id"][7:19] in table
    assert loaded("images", "-q").stdout.strip() == imgs[0]["id"][7:19]
    # Cmd, WorkingDir, Env as docker applies them.
    p = loaded.run(IMG)
    assert (p.returncode, p.stdout) == (0, "from cmd\n"), p.stderr
    p = loaded.run(IMG, "sh", "-c", "pwd; echo $IMAGE_VAR; echo $PATH; id -u")
    assert p.stdout.split() == ["/home/app", "1", "/bin", "0"], p.stderr
    p = loaded.run("-e", "IMAGE_VAR=2", "-w", "/tmp", "-u", "app", IMG, "sh", "-c", "pwd; echo $IMAGE_VAR; id -u")
    assert p.stdout.split() == ["/tmp", "2", "1000"], p.stderr
    p = loaded.run("--entrypoint", "echo", IMG, "via", "entrypoint")
    assert p.stdout == "via entrypoint\n", p.stderr


def test_layers_are_unpacked_under_an_ext4_topdir(loaded):
    """The store's tmp/, where layers unpack, is marked FS_TOPDIR_FL on ext4, so the allocator
    spreads layers over block groups (layer_import.cpp says why: bench/images' load time)."""
    tmp = loaded.state / "images" / "tmp"
    if subprocess.run(["stat", "-f", "-c", "%T", tmp], capture_output=True, text=True).stdout.strip() != "ext2/ext3":
        pytest.skip("the store is not on ext4")
    flags = subprocess.run(["lsattr", "-d", tmp], capture_output=True, text=True, check=True).stdout.split()[0]
    assert "T" in flags, flags
    # The layer blobs (hard links of the unpacked archive's files) are as any blob: read-only,
    # named by their content's digest, and nothing is left in tmp/ but tmp/ itself.
    blobs = list((loaded.state / "images" / "blobs" / "sha256").iterdir())
    assert len(blobs) == 4  # 2 layers, the config, the manifest made for the docker-archive
    for b in blobs:
        assert (b.stat().st_mode & 0o777, sha256(b.read_bytes())) == (0o444, "sha256:" + b.name)
    assert list(tmp.iterdir()) == []
    # Only the work area: published layers keep no such flag.
    for layer in (loaded.state / "images" / "layers").iterdir():
        assert "T" not in subprocess.run(["lsattr", "-d", layer], capture_output=True, text=True,
                                         check=True).stdout.split()[0]


def test_whiteouts_and_opaque_dirs_as_docker_shows_them(loaded):
    p = loaded.run(IMG, "sh", "-c", "cat /etc/added; ls /etc/conf.d; test -e /etc/remove-me || echo gone")
    assert p.stdout.split() == ["added", "new.conf", "gone"], p.stderr


def test_writable_layer_survives_stop_start_and_goes_with_rm(loaded):
    loaded.detach("--name", "keeper", "--init", IMG, "sh", "-c", "echo kept > /root/f; echo v > /data/v; sleep 1000")
    loaded.wait_state("keeper", "running")
    info = loaded.inspect("keeper")
    upper = Path(info["upperDir"])
    assert info["image"] == IMG and len(info["layers"]) == 2
    deadline = time.time() + 30
    while not (upper / "root" / "f").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (upper / "root" / "f").read_text() == "kept\n"
    assert "8080/tcp" in loaded("ps").stdout
    ps = loaded.ps()
    assert ps[0]["image"] == IMG and ps[0]["exposedPorts"] == ["8080/tcp"]
    # The image's StopSignal: SIGUSR1 ends sh (no handler; not PID 1 under --init, which
    # forwards it) at once, not after the timeout.
    t = time.time()
    loaded("stop", "-t", "30", "keeper")
    assert time.time() - t < 20
    loaded("start", "keeper")
    loaded.wait_state("keeper", "running")
    assert loaded("exec", "keeper", "cat", "/root/f", "/data/v").stdout == "kept\nv\n"
    assert "Containers" in loaded("system", "df").stdout
    loaded("rm", "-f", "keeper")
    assert not upper.exists()


def test_read_only_root(loaded):
    p = loaded.run("--read-only", IMG, "sh", "-c", "touch /x")
    assert p.returncode != 0 and "Read-only" in p.stderr + p.stdout


def test_rmi_refuses_an_image_in_use_until_rm(loaded):
    loaded.detach("--name", "user", IMG, "sleep", "1000")
    p = loaded("rmi", IMG, check=False)
    assert p.returncode != 0 and "in use by container user" in p.stderr
    loaded("rm", "-f", "user")
    out = loaded("rmi", IMG).stdout
    assert "Untagged: hulltest/busybox:latest" in out and "Deleted: sha256:" in out
    assert loaded("images", "-q").stdout == ""
    root = loaded.state / "images"
    assert list((root / "layers").iterdir()) == [] and list((root / "blobs" / "sha256").iterdir()) == []


def test_tag_and_untag(loaded):
    loaded("tag", IMG, "localhost:5000/other:v2")
    assert loaded.run("localhost:5000/other:v2", "true").returncode == 0
    assert loaded("rmi", "localhost:5000/other:v2").stdout.strip() == "Untagged: localhost:5000/other:v2"
    assert loaded.run(IMG, "true").returncode == 0


def test_unknown_image_says_what_to_do(friendly):
    p = friendly.run("nosuchimage", "true")
    assert p.returncode == 125
    # Offline: the pull from docker.io fails, and the error says what else there is.
    lines = p.stderr.splitlines()
    assert lines[0] == "Unable to find image 'nosuchimage' locally", p.stderr
    assert len(lines) == 2 and "registry docker.io, repository library/nosuchimage" in lines[1]
    assert "hull load" in lines[1]


def test_host_is_the_host_sandbox(friendly):
    p = friendly.run("host", "cat", "/etc/os-release")
    assert p.returncode == 0 and p.stdout == Path("/etc/os-release").read_text()


def test_import_save_and_load_again(friendly, tmp_path, base_layer):
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(base_layer)
    iid = friendly("import", tarball, "imported:1").stdout.strip()
    assert iid.startswith("sha256:")
    p = friendly.run("imported:1", "cat", "/etc/os-release")
    assert p.stdout == "NAME=busybox-test\n", p.stderr
    p = friendly.run("imported:1")
    assert p.returncode == 125 and "no command specified" in p.stderr
    for fmt in ("docker-archive", "oci-archive"):
        out = tmp_path / f"saved-{fmt}.tar"
        friendly("save", "--format", fmt, "-o", out, "imported:1")
        friendly("rmi", "imported:1")
        assert "Loaded image: imported:1" in friendly("load", "-i", out).stdout
        assert friendly("images", "-q").stdout.strip() == iid[7:19]


def test_oci_layout_dir_and_gzip_archives_load(friendly, tmp_path, base_layer):
    oci_layout(tmp_path / "layout", [base_layer, second_layer()], ref="hulltest/oci:v1", Cmd=["cat", "/etc/added"])
    assert "Loaded image: hulltest/oci:v1" in friendly("load", "-i", tmp_path / "layout").stdout
    assert friendly.run("hulltest/oci:v1").stdout == "added\n"
    arch = tmp_path / "gz.tar.gz"
    docker_archive(arch, [base_layer], tags=("hulltest/gz:1",), gzip_layers=True, gzip_archive=True,
                   Cmd=["echo", "gz"])
    friendly("load", "-i", arch)
    assert friendly.run("hulltest/gz:1").stdout == "gz\n"
    # One base layer, stored once for the two images that share it.
    inspect = [json.loads(friendly("image", "inspect", "--json", r).stdout) for r in ("hulltest/oci:v1", "hulltest/gz:1")]
    assert inspect[0]["layers"][0]["chainId"] == inspect[1]["layers"][0]["chainId"]
    assert len(list((friendly.state / "images" / "layers").iterdir())) == 2


def test_a_wrong_diff_id_is_refused_and_nothing_is_kept(friendly, tmp_path, base_layer):
    arch = tmp_path / "bad.tar"
    docker_archive(arch, [base_layer], tags=("bad:1",))
    # Swap the layer for another with the same path: the config's diff_id no longer matches.
    import tarfile, io
    entries = []
    with tarfile.open(arch) as t:
        for m in t.getmembers():
            entries.append((m, t.extractfile(m).read()))
    evil = Layer().file("evil", "x").bytes()
    with tarfile.open(arch, "w") as t:
        for m, data in entries:
            if m.name.endswith("layer.tar"):
                data = evil
                m.size = len(data)
            t.addfile(m, io.BytesIO(data))
    p = friendly("load", "-i", arch, check=False)
    assert p.returncode != 0
    assert sha256(base_layer) in p.stderr and sha256(evil) in p.stderr, p.stderr
    root = friendly.state / "images"
    assert list((root / "layers").iterdir()) == [] and list((root / "tmp").iterdir()) == []


HOSTILE = {
    "dotdot": lambda l: l.file("../../../../../../../tmp/HOSTILE-dotdot", "x"),
    "abs-symlink": lambda l: l.symlink("escape", "/tmp").file("escape/HOSTILE-abs", "x"),
    "rel-symlink": lambda l: l.symlink("up", "../../../../../../../../tmp").file("up/HOSTILE-rel", "x"),
    "hardlink-shadow": lambda l: l.hardlink("shadow", "/etc/shadow"),
    "hardlink-dotdot": lambda l: l.hardlink("shadow", "../../../../../../../../etc/shadow"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_layers_are_refused_naming_the_entry(friendly, tmp_path, kind):
    arch = tmp_path / "hostile.tar"
    docker_archive(arch, [HOSTILE[kind](Layer().file("ok", "fine")).bytes()], tags=("hostile:1",))
    shadow = Path("/etc/shadow").stat()
    p = friendly("load", "-i", arch, check=False)
    assert p.returncode != 0 and "layer entry" in p.stderr, p.stderr
    assert not list(Path("/tmp").glob("HOSTILE-*"))
    assert Path("/etc/shadow").stat().st_nlink == shadow.st_nlink
    root = friendly.state / "images"
    assert list((root / "layers").iterdir()) == [] and list((root / "tmp").iterdir()) == []
    assert friendly("images", "-q").stdout == ""


def test_kill_9_while_loading_then_load_and_prune(friendly, tmp_path, base_layer):
    big = Layer()
    for i in range(300):
        big.file(f"data/f{i}", os.urandom(64 * 1024))
    arch = tmp_path / "big.tar"
    docker_archive(arch, [base_layer, big.bytes()], tags=("big:1",), Cmd=["ls", "/data"])
    rng = random.Random(11)
    for attempt in range(4):
        p = subprocess.Popen([str(HULL), "load", "-i", str(arch)], env=friendly.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # Whatever is published is whole: every layer dir has its layer.json.
        for d in (friendly.state / "images" / "layers").glob("*"):
            assert (d / "layer.json").exists() and (d / "root").is_dir()
    friendly("load", "-i", arch)
    assert len(friendly.run("big:1").stdout.split()) == 300
    friendly("image", "prune")
    root = friendly.state / "images"
    assert list((root / "tmp").iterdir()) == []
    assert len(list((root / "layers").iterdir())) == 2


def test_two_concurrent_loads_of_one_archive(friendly, tmp_path, base_layer):
    arch = tmp_path / "c.tar"
    docker_archive(arch, [base_layer, second_layer()], tags=("conc:1",), Cmd=["true"])
    procs = [subprocess.Popen([str(HULL), "load", "-i", str(arch)], env=friendly.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "Loaded image: conc:1" in out
    assert len(list((friendly.state / "images" / "layers").iterdir())) == 2
    assert friendly.run("conc:1").returncode == 0


@pytest.fixture(scope="session")
def debian_tar(tmp_path_factory):
    """A real distribution: Debian bookworm minbase from Debian's archive (mmdebstrap), made
    once per session."""
    out = tmp_path_factory.mktemp("debian") / "bookworm.tar"
    p = subprocess.run(["mmdebstrap", "--variant=minbase", "--quiet", "bookworm", str(out)],
                       capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        pytest.fail(f"mmdebstrap failed (is Debian's archive reachable?):\n{p.stderr[-2000:]}")
    return out


def test_debian_imported_with_a_layer_on_top(friendly, tmp_path, debian_tar):
    friendly("import", debian_tar, "debian-min:bookworm")
    base = json.loads(friendly("image", "inspect", "--json", "debian-min:bookworm").stdout)
    assert base["size"] > 50_000_000
    p = friendly.run("debian-min:bookworm", "sh", "-c", "cat /etc/debian_version; dpkg-query -W | wc -l")
    version, packages = p.stdout.split()
    assert version.startswith("12.") and int(packages) > 50, p.stderr
    # A second layer on top of the same base (a docker-archive written here): the base layer is
    # found in the store by its chain id, not unpacked again.
    arch = tmp_path / "debian-plus.tar"
    docker_archive(arch, [debian_tar.read_bytes(), second_layer()], tags=("debian-plus:1",),
                   Cmd=["sh", "-c", "cat /etc/added; ls /etc/conf.d; test -e /etc/debian_version && echo debian"])
    friendly("load", "-i", arch)
    assert friendly.run("debian-plus:1").stdout.split() == ["added", "new.conf", "debian"]
    layers = list((friendly.state / "images" / "layers").iterdir())
    assert len(layers) == 2
    assert "Layers" in friendly("system", "df").stdout


def test_a_new_named_volume_gets_the_images_files_once(loaded):
    """docker's copy-up: a named volume made by this run starts with what the image has at the
    path, merged through the layers (whiteouts and opaque directories as overlayfs shows
    them); a volume that exists already is left as it is."""
    p = loaded.run("-v", "etcvol:/etc", IMG, "sh", "-c", "cat /etc/added; ls /etc/conf.d; test -e /etc/remove-me || echo gone")
    assert p.stdout.split() == ["added", "new.conf", "gone"], p.stderr
    mp = Path(json.loads(loaded("volume", "inspect", "etcvol").stdout)[0]["Mountpoint"])
    assert sorted(x.name for x in mp.iterdir()) == ["added", "conf.d", "group", "os-release", "passwd"]
    assert (mp / "passwd").read_text().startswith("root:x:0:0:") and (mp / "conf.d" / "new.conf").exists()
    # written to, then used again: not copied over
    assert loaded.run("-v", "etcvol:/etc", IMG, "sh", "-c", "echo mine > /etc/added").returncode == 0
    assert loaded.run("-v", "etcvol:/etc", IMG, "cat", "/etc/added").stdout == "mine\n"
    # a path the image does not have: an empty volume
    assert loaded.run("-v", "emptyvol:/nothing/here", IMG, "ls", "-A", "/nothing/here").stdout == ""
    loaded("volume", "rm", "etcvol", "emptyvol")


def srv_image(friendly, tmp_path, base_layer, tag="hulltest/srv:1"):
    """An image whose config declares the volume /srv, with content a copy must keep: owners,
    modes (setuid), an xattr, mtimes, a hard link, a symlink, a fifo, a deleted file."""
    l1 = (Layer().dir("srv", mode=0o750, uid=1000, gid=1000)
          .file("srv/app.conf", "conf\n", mode=0o640, uid=1000, gid=1000, xattrs={"user.note": "kept"},
                mtime=1600000000)
          .file("srv/tool", "#!/bin/sh\n", mode=0o4755).hardlink("srv/hard", "srv/app.conf")
          .symlink("srv/link", "app.conf").fifo("srv/fifo").file("srv/gone", "x")
          .dir("srv/sub", mode=0o700, uid=1000).file("srv/sub/deep", "deep\n", uid=1000))
    l2 = Layer().dir("srv", mode=0o750, uid=1000, gid=1000).whiteout("srv/gone").file("srv/top", "top\n")
    arch = tmp_path / "srv.tar"
    docker_archive(arch, [base_layer, l1.bytes(), l2.bytes()], tags=(tag,), Env=["PATH=/bin"],
                   Volumes={"/srv": {}}, Cmd=["sh", "-c", "cat /srv/app.conf; echo changed > /srv/app.conf"])
    friendly("load", "-i", arch)
    return tag


def check_srv_copy(d: Path):
    assert sorted(p.name for p in d.iterdir()) == ["app.conf", "fifo", "hard", "link", "sub", "tool", "top"]
    st = d.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1000, 0o750)
    conf = (d / "app.conf").stat()
    assert (conf.st_uid, conf.st_gid, conf.st_mode & 0o7777, conf.st_mtime) == (1000, 1000, 0o640, 1600000000)
    assert os.getxattr(d / "app.conf", "user.note") == b"kept"
    assert (d / "hard").stat().st_ino == conf.st_ino and conf.st_nlink == 2
    assert (d / "tool").stat().st_mode & 0o7777 == 0o4755
    assert os.readlink(d / "link") == "app.conf"
    import stat as statmod
    assert statmod.S_ISFIFO((d / "fifo").lstat().st_mode)
    assert (d / "sub").stat().st_mode & 0o7777 == 0o700 and (d / "sub" / "deep").read_text() == "deep\n"


def test_an_image_volume_starts_with_the_images_files_once(friendly, tmp_path, base_layer):
    """docker's copy-up for the image's own Volumes: the anonymous volume starts with what the
    image has there (merged through its layers), owners, modes, xattrs, times and hard links
    kept; written to, it is not copied over again at the next start; it goes with rm."""
    img = srv_image(friendly, tmp_path, base_layer)
    p = friendly.run(img, "sh", "-c", "ls -A /srv; stat -c '%u:%g %a %h' /srv/app.conf /srv/tool")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["app.conf", "fifo", "hard", "link", "sub", "tool", "top",
                                "1000:1000", "640", "2", "0:0", "4755", "1"]
    p = friendly.run("--name", "once", img, keep=True)
    assert (p.returncode, p.stdout) == (0, "conf\n"), p.stderr
    cid = friendly.inspect("once")["id"]
    vol = friendly.state / "containers" / cid / "volumes" / "0"
    assert (vol / "app.conf").read_text() == "changed\n"
    (vol / "app.conf").write_text("conf\n")
    os.utime(vol / "app.conf", (1600000000, 1600000000))
    check_srv_copy(vol)
    (vol / "app.conf").write_text("mine\n")
    friendly("start", "once")
    assert friendly("wait", "once").stdout == "0\n"
    assert friendly("logs", "once").stdout == "conf\nmine\n"
    friendly("rm", "once")
    assert not (friendly.state / "containers" / cid).exists()


def test_an_empty_named_volume_gets_the_copy_a_used_one_does_not(friendly, tmp_path, base_layer):
    img = srv_image(friendly, tmp_path, base_layer)
    friendly("volume", "create", "pre")
    mp = Path(json.loads(friendly("volume", "inspect", "pre").stdout)[0]["Mountpoint"])
    p = friendly.run("-v", "pre:/srv", img)
    assert (p.returncode, p.stdout) == (0, "conf\n"), p.stderr
    (mp / "app.conf").write_text("conf\n")
    os.utime(mp / "app.conf", (1600000000, 1600000000))
    check_srv_copy(mp)
    # Two runs at once on one new volume: one copy, both see it whole.
    procs = [subprocess.Popen([str(HULL), "run", "--rm", "-v", "twice:/srv", img, "ls", "/srv"],
                              env=friendly.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.split() == ["app.conf", "fifo", "hard", "link", "sub", "tool", "top"], err
    # A volume with something in it is left as it is.
    friendly("volume", "create", "used")
    used = Path(json.loads(friendly("volume", "inspect", "used").stdout)[0]["Mountpoint"])
    (used / "mine").write_text("x")
    assert friendly.run("-v", "used:/srv", img, "ls", "/srv").stdout == "mine\n"
    friendly("volume", "rm", "pre", "twice", "used")
    assert not list((friendly.state / "volumes").iterdir())


def df_rows(friendly):
    lines = friendly("system", "df").stdout.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    return {l[:15].strip(): l[15:].split() for l in lines[1:]}


def test_stats_and_system_df_count_the_writable_layer(loaded):
    """What the container writes to its own layer shows in `stats` (WRITABLE, writableSize)
    and in `system df` (Containers: all of it; reclaimable once it stopped); volumes in the
    Local Volumes row."""
    assert df_rows(loaded)["Containers"] == ["0", "0", "0B", "0B"]
    loaded.detach("--name", "writer", IMG, "sh", "-c",
                  "head -c 3000000 /dev/urandom > /root/blob; touch /root/done; sleep 1000")
    loaded.detach("--name", "quiet", IMG, "sleep", "1000")
    upper = Path(loaded.inspect("writer")["upperDir"])
    deadline = time.time() + 30
    while not (upper / "root" / "done").exists() and time.time() < deadline:
        time.sleep(0.05)
    rows = {r["name"]: r for r in json.loads(loaded("stats", "--no-stream", "--format", "json").stdout)}
    assert 3_000_000 <= rows["writer"]["writableSize"] < 3_200_000
    assert rows["quiet"]["writableSize"] < 100_000
    table = loaded("stats", "--no-stream", "writer").stdout.splitlines()
    assert table[0].split()[-1] == "WRITABLE" and re.fullmatch(r"3(\.\d+)?MB", table[1].split()[-1])
    df = df_rows(loaded)
    total, active, size, reclaimable = df["Containers"]
    assert (total, active, reclaimable) == ("2", "2", "0B") and size.endswith("MB") and float(size[:-2]) >= 3
    assert df["Local Volumes"][:2] == ["2", "2"]  # the image's /data, one per container
    loaded("stop", "-t", "1", "writer")
    total, active, _, reclaimable = df_rows(loaded)["Containers"]
    assert (total, active) == ("2", "1") and re.fullmatch(r"3(\.\d+)?MB", reclaimable), reclaimable
    loaded("rm", "-f", "writer", "quiet")
    assert df_rows(loaded)["Containers"] == ["0", "0", "0B", "0B"]
    # Named volumes: in use or reclaimable.
    loaded("volume", "create", "spare")
    total, active, size, reclaimable = df_rows(loaded)["Local Volumes"]
    assert (total, active) == ("1", "0") and reclaimable == size
    loaded("volume", "rm", "spare")


def test_run_racing_rmi_and_prune_sees_the_image_whole_or_not_at_all(friendly, tmp_path, base_layer):
    """`hull run` against `rmi -f` + `load` and `image prune` in loops: each run either runs
    the image whole (every layer there: /etc/added comes from the top one) or fails with one
    line naming the image; prune never takes a layer a starting container is about to mount."""
    import threading
    arch = tmp_path / "race.tar"
    docker_archive(arch, [base_layer, second_layer()], tags=("race:1",), Env=["PATH=/bin"])
    friendly("load", "-i", arch)
    stop = threading.Event()
    errors = []

    def churn():
        while not stop.is_set():
            for args in (("rmi", "-f", "race:1"), ("image", "prune"), ("load", "-i", arch), ("image", "prune")):
                p = friendly(*args, check=False)
                if p.returncode != 0 and not (args[0] == "rmi" and "no such image" in p.stderr):
                    errors.append(f"{args}: {p.returncode} {p.stderr}")
    t = threading.Thread(target=churn)
    t.start()
    outcomes = {"ran": 0, "missing": 0}
    try:
        deadline = time.time() + 25
        runs = 0
        while (runs < 40 or not all(outcomes.values())) and time.time() < deadline:
            runs += 1
            p = friendly.run("--pull", "never", "race:1", "sh", "-c", "cat /etc/added /etc/os-release")
            if p.returncode == 0:
                assert p.stdout == "added\nNAME=busybox-test\n", p.stderr
                outcomes["ran"] += 1
            else:
                first = p.stderr.splitlines()[0] if p.stderr else ""
                assert p.returncode == 125 and first.startswith(
                    "hull: unable to find image \"race:1\" (docker.io/library/race:1)"), (p.returncode, p.stderr)
                outcomes["missing"] += 1
    finally:
        stop.set()
        t.join(timeout=120)
    assert not errors, errors
    print("outcomes", outcomes)
    assert outcomes["ran"] > 0, outcomes
    # A container that started keeps its layers through rmi -f and prune.
    friendly("load", "-i", arch)
    friendly.detach("--name", "keeps", "race:1", "sleep", "1000")
    friendly("rmi", "-f", "race:1")
    assert "Deleted 0 layers" in friendly("image", "prune").stdout
    assert friendly("exec", "keeps", "cat", "/etc/added").stdout == "added\n"
    friendly("rm", "-f", "keeps")
    # Nothing left: after rmi and prune the store is empty, no container remains.
    friendly("rmi", "-f", "race:1", check=False)
    friendly("image", "prune")
    root = friendly.state / "images"
    assert list((root / "layers").iterdir()) == [] and list((root / "tmp").iterdir()) == []


def test_userns_private_with_an_image_through_id_mapped_layers(friendly, tmp_path, base_layer):
    """--userns private with an image: the store's layers (host root's) are id-mapped into the
    container's range, so its root owns the image's files and writes over them (copy-up into
    its layer as host uid 100000); whiteouts and opaque dirs as without a user namespace; the
    anonymous volume's copy is shifted into the range too; the store itself is unchanged."""
    arch = tmp_path / "u.tar"
    docker_archive(arch, [base_layer, second_layer()], tags=("mapped:1",), Env=["PATH=/bin"],
                   Volumes={"/home/app": {}})
    friendly("load", "-i", arch)
    p = friendly.run("--name", "m", "--userns", "private", "mapped:1", "sh", "-c",
                     "cat /proc/self/uid_map; stat -c '%u:%g' / /etc/passwd /home/app; cat /etc/added; "
                     "ls /etc/conf.d; test -e /etc/remove-me || echo gone; echo me >> /etc/passwd && "
                     "echo x > /home/app/f && echo wrote; mknod /null c 1 3 2>/dev/null || echo no-mknod",
                     keep=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "100000", "65536", "0:0", "0:0", "1000:1000", "added", "new.conf", "gone",
                                "wrote", "no-mknod"]
    cid = friendly.inspect("m")["id"]
    d = friendly.state / "containers" / cid
    st = (d / "layer" / "upper" / "etc" / "passwd").stat()
    assert (st.st_uid, st.st_gid) == (100000, 100000) and (d / "layer" / "upper" / "etc" / "passwd").read_text().endswith("me\n")
    vol = (d / "volumes" / "0").stat()
    assert (vol.st_uid, vol.st_gid) == (101000, 101000)
    assert (d / "volumes" / "0" / "f").stat().st_uid == 100000
    for layer in (friendly.state / "images" / "layers").iterdir():
        for f in (layer / "root").rglob("*"):
            assert f.lstat().st_uid in (0, 1000), f
    # It starts again from its own layer; --read-only holds in the namespace too.
    friendly("start", "m")
    assert friendly("wait", "m").stdout == "0\n"
    assert friendly("logs", "m").stdout.count("wrote") == 2
    friendly("rm", "m")
    p = friendly.run("--userns", "private", "--read-only", "mapped:1", "touch", "/x")
    assert p.returncode == 1 and "Read-only file system" in p.stderr
    # A named volume it makes is its root's: it can write there.
    p = friendly.run("--userns", "private", "-v", "mine:/stuff", "mapped:1", "sh", "-c", "touch /stuff/x && stat -c %u /stuff")
    assert (p.returncode, p.stdout) == (0, "0\n"), p.stderr
    mp = Path(json.loads(friendly("volume", "inspect", "mine").stdout)[0]["Mountpoint"])
    assert mp.stat().st_uid == 100000 and (mp / "x").stat().st_uid == 100000
    friendly("volume", "rm", "mine")


def test_cp_to_and_from_a_stopped_container(loaded, tmp_path):
    """docker's cp works on a stopped container: hull reaches its root through its overlay,
    mounted detached (in no mount namespace, gone with the copy), so what goes in lands in its
    writable layer and is there when it starts; a path under one of its volumes goes to the
    volume; the host sandbox's root is gone once it stopped, and says so."""
    p = loaded.run("--name", "s", IMG, "sh", "-c", "cat /root/in /data/v 2>/dev/null || echo none; echo out > /root/f",
                   keep=True)
    assert p.stdout == "none\n", p.stderr
    cid = loaded.inspect("s")["id"]
    loaded("cp", "s:/root/f", tmp_path / "f")
    assert (tmp_path / "f").read_text() == "out\n"
    loaded("cp", "s:/etc/added", tmp_path / "added")  # from the image's top layer
    assert (tmp_path / "added").read_text() == "added\n"
    (tmp_path / "in").write_text("in\n")
    (tmp_path / "v").write_text("v\n")
    loaded("cp", tmp_path / "in", "s:/root/")
    loaded("cp", tmp_path / "v", "s:/data/v")
    d = loaded.state / "containers" / cid
    assert (d / "layer" / "upper" / "root" / "in").read_text() == "in\n"
    assert (d / "volumes" / "0" / "v").read_text() == "v\n" and not (d / "layer" / "upper" / "data").exists()
    loaded("start", "s")
    assert loaded("wait", "s").stdout == "0\n"
    assert loaded("logs", "s").stdout == "none\nin\nv\n"
    p = loaded("cp", "s:/nope", tmp_path / "x", check=False)
    assert p.returncode == 1 and p.stderr.startswith("hull: cp: s:/nope: "), p.stderr
    loaded("rm", "s")
    # The host sandbox: nothing left of its root.
    loaded.run("--name", "h", "host", "true", keep=True)
    p = loaded("cp", "h:/etc/hostname", tmp_path / "hn", check=False)
    assert p.returncode == 1 and p.stderr.startswith("hull: cp: container h is not running, and its root was"), p.stderr
    loaded("rm", "h")
    # --userns private: what goes in belongs to the container's root (host 100000).
    loaded.run("--name", "u", "--userns", "private", IMG, "true", keep=True)
    loaded("cp", tmp_path / "in", "u:/root/in")
    uid = loaded.inspect("u")["id"]
    st = (loaded.state / "containers" / uid / "layer" / "upper" / "root" / "in").stat()
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    loaded("rm", "u")


def test_start_waits_for_a_cp_into_the_stopped_container(loaded, tmp_path):
    """`start` takes the container's lock before its overlay is mounted, as `cp` into a
    stopped container does while it has that overlay mounted. Run side by side, cp a little
    later each time: start always succeeds; cp succeeds or fails with one clean line; a cp
    that found the container stopped (its --debug says so) ran wholly before or after the
    container, which never counts part of the tree; cp never writes into the host's root
    while the container is being created (its init not yet in its own root); and nothing is
    left mounted."""
    # Each start counts the files of every tree cp put in /root.
    loaded.run("--name", "race", IMG, "sh", "-c",
               "for d in /root/d*; do [ -e $d ] && echo ${d#/root/} $(ls $d | wc -l); done; true", keep=True)
    cid = loaded.inspect("race")["id"]
    upper = loaded.state / "containers" / cid / "layer" / "upper" / "root"
    files = 300
    src = tmp_path / "tree"
    src.mkdir()
    for n in range(files):
        (src / f"f{n}").write_text(f"{n}\n")
    stopped = 0
    tag = os.urandom(4).hex()  # the trees' names: the host's /root is checked for them
    try:
        for i in range(30):
            start = subprocess.Popen([str(HULL), "start", "race"], env=loaded.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.004 * i)
            cp = subprocess.Popen([str(HULL), "--debug", "cp", str(src), f"race:/root/d{tag}-{i}"], env=loaded.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            start_out, cp_out = start.communicate(timeout=60), cp.communicate(timeout=60)
            assert start.returncode == 0, start_out
            assert loaded("wait", "race").stdout == "0\n"
            errors = [l for l in cp_out[1].splitlines() if not l.startswith("hull: debug: ")]
            if cp.returncode != 0:
                # It started between cp's look and its lock ("started meanwhile"), or ended
                # between cp's look and its open of the running root: one clean line.
                assert len(errors) == 1 and errors[0].startswith("hull: ") and "race" in errors[0], cp_out
                continue
            assert errors == [] and len(list((upper / f"d{tag}-{i}").iterdir())) == files, cp_out
            if "is stopped: its root is reached under its lock" in cp_out[1]:
                stopped += 1
                # This run's lines: the container ran before the copy (no d{i}) or after it
                # was whole, never while cp had the overlay.
                counts = dict(l.split() for l in loaded("logs", "--tail", str(i + 1), "race").stdout.splitlines())
                assert counts.get(f"d{tag}-{i}", str(files)) == str(files), f"the container ran while cp wrote d{tag}-{i}: {counts}"
            assert not Path(f"/root/d{tag}-{i}").exists(), "cp wrote into the host's /root"
            # The overlay cp mounts is detached and start's lives in the container's namespace:
            # none in ours.
            mounts = Path("/proc/self/mountinfo").read_text()
            assert cid not in mounts, mounts
    finally:
        loaded("rm", "-f", "race")
        for d in Path("/root").glob(f"d{tag}-*"):
            shutil.rmtree(d)
    assert stopped > 0
