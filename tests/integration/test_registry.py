"""Registries: hull pull/push/login/logout against a real docker-registry (distribution 2.8)
started here on 127.0.0.1 (registrytest.py), images put in with skopeo from layouts built in
the test (busybox, imagetest.py). One plain registry per worker; the auth ones per module."""
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from hulltest import HULL, read_to_eof
from imagetest import APPLETS, BUSYBOX, Layer, busybox_layer, docker_archive, second_layer, sha256
from registrytest import Proxy, Registry, TokenServer, htpasswd_auth, layout

CMD = {"Cmd": ["echo", "from registry"], "Env": ["PATH=/bin"]}


def unique_busybox():
    """busybox with a nonce: skopeo's blob cache cannot swap in a gzip'd twin it knows."""
    l = Layer()
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
        l.dir(d)
    l.file("bin/busybox", BUSYBOX.read_bytes(), mode=0o755)
    for a in APPLETS:
        l.symlink(f"bin/{a}", "busybox")
    return l.file("etc/nonce", os.urandom(16).hex()).bytes()


def arch_layer(name):
    return Layer().dir("etc").file("etc/arch", name + "\n").bytes()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    reg = Registry(tmp / "plain")
    base, second = busybox_layer(), second_layer()
    layout(tmp / "gz", [([base, second], "linux/amd64", CMD)])
    reg.skopeo_copy(f"oci:{tmp}/gz:v1", "bb/oci:v1")
    reg.skopeo_copy(f"oci:{tmp}/gz:v1", "bb/v2s2:v1", "--format", "v2s2")
    # Uncompressed in the layout; skopeo compresses each layer with zstd on the way in.
    layout(tmp / "raw", [([unique_busybox(), arch_layer("zstd" + os.urandom(8).hex())], "linux/amd64", CMD)],
           compress="none")
    reg.skopeo_copy(f"oci:{tmp}/raw:v1", "bb/zstd:v1", "--dest-compress-format", "zstd")
    layout(tmp / "multi", [([base, arch_layer(a)], p, CMD) for a, p in
                           (("amd64", "linux/amd64"), ("arm64", "linux/arm64/v8"), ("s390x", "linux/s390x"))],
           index=True)
    reg.skopeo_copy(f"oci:{tmp}/multi:v1", "bb/multi:v1", "--all")
    layout(tmp / "other", [([base, arch_layer("arm64")], "linux/arm64/v8", CMD)], index=True)
    reg.skopeo_copy(f"oci:{tmp}/other:v1", "bb/armonly:v1", "--all")
    reg.base_digest = sha256(gzip_of(base))
    yield reg
    reg.stop()


def gzip_of(data):
    import gzip
    return gzip.compress(data, mtime=0)


@pytest.fixture
def hull(friendly, tmp_path):
    """The friendly face with a home, runtime dir and registries.conf of the test's own, so
    credentials are never read from or written to the real ones."""
    home = tmp_path / "home"
    home.mkdir()
    friendly.env.update(HOME=str(home), XDG_RUNTIME_DIR=str(tmp_path / "xdg"),
                        CONTAINERS_REGISTRIES_CONF=str(tmp_path / "registries.conf"))
    for k in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE"):
        friendly.env.pop(k, None)
    friendly.home = home
    yield friendly
    store = friendly.state / "images" / "tmp"
    assert not store.exists() or list(store.iterdir()) == [], "half-written files in the store"


def store_content(h):
    root = h.state / "images"
    out = {}
    for sub in ("blobs/sha256", "layers", "images", "tmp"):
        d = root / sub
        out[sub] = sorted(p.name for p in d.iterdir()) if d.exists() else []
    return out


def test_pull_oci_and_run(hull, registry):
    ref = f"{registry.addr}/bb/oci:v1"
    p = hull("pull", ref)
    lines = p.stdout.splitlines()
    assert lines[0] == "v1: Pulling from bb/oci" and lines[-1] == f"{registry.addr}/bb/oci:v1", p.stdout
    assert sum("Pull complete" in l for l in lines) == 2 and "Status: Downloaded newer image" in p.stdout
    r = hull.run(ref)
    assert (r.returncode, r.stdout) == (0, "from registry\n"), r.stderr
    r = hull.run(ref, "sh", "-c", "cat /etc/added; ls /etc/conf.d; test -e /etc/remove-me || echo gone")
    assert r.stdout.split() == ["added", "new.conf", "gone"], r.stderr
    # Again: nothing fetched, the same digest.
    p2 = hull("pull", ref)
    assert "Image is up to date" in p2.stdout and "Pull complete" not in p2.stdout
    digest = hull("pull", "-q", ref).stdout.strip()
    assert digest.startswith("sha256:") and f"Digest: {digest}" in p.stdout
    imgs = json.loads(hull("images", "--format", "json").stdout)
    assert [i["names"] for i in imgs] == [[ref]] and imgs[0]["digest"] == digest


@pytest.mark.parametrize("repo", ["bb/v2s2", "bb/zstd"])
def test_pull_docker_schema2_and_zstd(hull, registry, repo):
    ref = f"{registry.addr}/{repo}:v1"
    hull("pull", "-q", ref)
    man = json.loads(open(hull.state / "images/blobs/sha256" /
                          hull("pull", "-q", ref).stdout.strip()[7:]).read())
    want = {"bb/v2s2": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "bb/zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}[repo]
    assert {l["mediaType"] for l in man["layers"]} == {want}
    r = hull.run(ref, "cat", "/etc/os-release" if repo == "bb/v2s2" else "/etc/nonce")
    assert r.returncode == 0 and r.stdout, r.stderr


def test_uncompressed_layers_pushed_by_hull_pull_back(hull, registry, tmp_path):
    arch = tmp_path / "raw.tar"
    docker_archive(arch, [busybox_layer(), arch_layer("raw")], tags=("hulltest/raw:v1",), Cmd=["cat", "/etc/arch"])
    hull("load", "-i", arch)
    ref = f"{registry.addr}/bb/raw:v1"
    hull("tag", "hulltest/raw:v1", ref)
    hull("push", ref)
    hull("rmi", ref, "hulltest/raw:v1")
    hull("image", "prune")
    hull("pull", ref)
    man = json.loads((hull.state / "images/blobs/sha256" / hull("pull", "-q", ref).stdout.strip()[7:]).read_text())
    assert {l["mediaType"] for l in man["layers"]} == {"application/vnd.oci.image.layer.v1.tar"}
    assert hull.run(ref).stdout == "raw\n"


def test_index_platform_choice(hull, registry):
    ref = f"{registry.addr}/bb/multi:v1"
    hull("pull", ref)
    assert hull.run(ref, "cat", "/etc/arch").stdout == "amd64\n"
    hull("pull", "--platform", "linux/arm64/v8", ref)
    assert hull.run(ref, "cat", "/etc/arch").stdout == "arm64\n"
    # By the index's digest: pulled once, then found by that name.
    index = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                                      check=True, capture_output=True, text=True).stdout)
    assert len(index["manifests"]) == 3
    import hashlib
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True).stdout
    by_digest = f"{registry.addr}/bb/multi@sha256:{hashlib.sha256(raw).hexdigest()}"
    hull("pull", by_digest)
    p = hull.run("--pull", "never", by_digest, "cat", "/etc/arch")
    assert p.stdout == "amd64\n", p.stderr
    p = hull("pull", "--platform", "linux/riscv64", ref, check=False)
    assert p.returncode != 0 and p.stderr.count("\n") == 1, p.stderr
    assert (f"registry {registry.addr}, repository bb/multi: no image for linux/riscv64" in p.stderr
            and "linux/amd64, linux/arm64/v8, linux/s390x" in p.stderr), p.stderr
    # A single image asked for as another platform's.
    p = hull("pull", "--platform", "linux/arm64", f"{registry.addr}/bb/oci:v1", check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert "repository bb/oci: \"v1\" is an image for linux/amd64, not linux/arm64" in p.stderr, p.stderr
    hull("pull", "--platform", "linux/amd64", f"{registry.addr}/bb/oci:v1")
    p = hull("pull", "--platform", "amd64", ref, check=False)
    assert p.returncode != 0 and "--platform \"amd64\"" in p.stderr, p.stderr


def test_run_pulls_what_is_missing(hull, registry):
    ref = f"{registry.addr}/bb/oci:v1"
    p = hull.run("--pull", "never", ref)
    assert p.returncode == 125 and "--pull never" in p.stderr and ref in p.stderr, p.stderr
    p = hull.run(ref)
    assert (p.returncode, p.stdout) == (0, "from registry\n"), p.stderr
    assert f"Unable to find image '{ref}' locally" in p.stderr and "Pull complete" in p.stderr
    p = hull.run(ref)
    assert p.stderr == "" and p.stdout == "from registry\n"
    p = hull.run("--pull", "always", ref)
    assert "Image is up to date" in p.stderr and p.stdout == "from registry\n"
    p = hull.run("--pull", "sometimes", ref)
    assert p.returncode == 125 and "--pull \"sometimes\"" in p.stderr


def test_errors_name_registry_repository_and_what(hull, registry):
    p = hull("pull", f"{registry.addr}/bb/oci:nope", check=False)
    assert p.returncode == 1 and p.stderr == \
        f"hull: registry {registry.addr}, repository bb/oci: manifest \"nope\" unknown (manifest unknown)\n"
    p = hull("pull", f"{registry.addr}/bb/nothing:v1", check=False)
    assert "repository bb/nothing: manifest \"v1\" unknown" in p.stderr
    p = hull("pull", f"{registry.addr}/bb/armonly:v1", check=False)
    assert "no image for linux/amd64" in p.stderr and "(it has linux/arm64/v8)" in p.stderr
    port = registry.port + 1 if registry.port < 65000 else registry.port - 1
    p = hull("pull", f"127.0.0.1:{port}/bb/oci:v1", check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1
    assert f"registry 127.0.0.1:{port}, repository bb/oci: unreachable at https://127.0.0.1:{port}" in p.stderr
    p = hull.run(f"127.0.0.1:{port}/bb/oci:v1")
    assert p.returncode == 125 and "unreachable" in p.stderr
    assert store_content(hull) == {"blobs/sha256": [], "layers": [], "images": [], "tmp": []}


def test_rate_limit_redirects_and_tampered_manifest(hull, registry):
    proxy = Proxy(registry.port)
    try:
        ref = f"{proxy.addr}/bb/oci:v1"
        proxy.answer = (429, json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message":
                                                     "You have reached your pull rate limit."}]}).encode())
        p = hull("pull", ref, check=False)
        assert p.returncode == 1 and p.stderr == (f"hull: registry {proxy.addr}, repository bb/oci: manifest "
                                                  "\"v1\": rate limited: You have reached your pull rate limit.\n")
        proxy.answer = None
        # Blobs answered with a redirect, as registries backed by object stores do: followed.
        proxy.redirect = True
        hull("pull", ref)
        assert any(p.startswith("/redirected/v2/bb/oci/blobs/") for _, p in proxy.log), proxy.log
        hull("rmi", ref)
        hull("image", "prune")
        proxy.redirect = False
        proxy.tamper = True
        p = hull("pull", ref, check=False)
        assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
        assert "repository bb/oci: manifest \"v1\": digest mismatch: expected sha256:" in p.stderr, p.stderr
        assert store_content(hull) == {"blobs/sha256": [], "layers": [], "images": [], "tmp": []}
    finally:
        proxy.close()


def test_corrupt_blob_is_refused_and_nothing_kept(hull, registry, tmp_path):
    # An image of its own, so that corrupting it harms no other test.
    layer = Layer().dir("x").file("x/data", os.urandom(200000)).bytes()
    layout(tmp_path / "c", [([busybox_layer(), layer], "linux/amd64", CMD)])
    registry.skopeo_copy(f"oci:{tmp_path}/c:v1", "bb/corrupt:v1")
    d = sha256(gzip_of(layer))
    blob = registry.blob_file(d)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xff
    blob.write_bytes(bytes(data))
    ref = f"{registry.addr}/bb/corrupt:v1"
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert f"registry {registry.addr}, repository bb/corrupt: layer {d}" in p.stderr, p.stderr
    assert "mismatch" in p.stderr or "decompress" in p.stderr, p.stderr
    c = store_content(hull)
    assert c["images"] == [] and c["tmp"] == [] and d[7:] not in c["blobs/sha256"]
    # The other layer (busybox) may have completed: it is whole if it is there.
    assert len(c["layers"]) <= 1
    assert hull.run("--pull", "never", ref).returncode == 125


def test_interrupted_pull_keeps_finished_layers(hull, registry, tmp_path):
    big = Layer().file("big", os.urandom(3 << 20)).bytes()
    layout(tmp_path / "i", [([busybox_layer(), big], "linux/amd64", CMD)])
    registry.skopeo_copy(f"oci:{tmp_path}/i:v1", "bb/interrupted:v1")
    proxy = Proxy(registry.port)
    try:
        ref = f"{proxy.addr}/bb/interrupted:v1"
        big_digest = sha256(gzip_of(big))
        proxy.cut.add(big_digest)
        p = hull("pull", ref, check=False)
        assert p.returncode == 1 and "repository bb/interrupted: " in p.stderr, p.stderr
        c = store_content(hull)
        assert len(c["layers"]) == 1 and c["images"] == [] and c["tmp"] == []
        proxy.cut.clear()
        p = hull("pull", ref)
        assert "Already exists" in p.stdout, p.stdout
        assert proxy.blob_gets(registry.base_digest) == 1 and proxy.blob_gets(big_digest) == 2
        assert hull.run(ref, "true").returncode == 0
    finally:
        proxy.close()


def test_pull_killed_then_again(hull, registry, tmp_path):
    import signal
    big = Layer().file("big", os.urandom(2 << 20)).bytes()
    layout(tmp_path / "k", [([busybox_layer(), big], "linux/amd64", CMD)])
    registry.skopeo_copy(f"oci:{tmp_path}/k:v1", "bb/killed:v1")
    proxy = Proxy(registry.port)
    big_digest = sha256(gzip_of(big))
    proxy.slow[big_digest] = 30
    try:
        ref = f"{proxy.addr}/bb/killed:v1"
        p = subprocess.Popen([str(HULL), "pull", ref], env=hull.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        layers = hull.state / "images" / "layers"
        deadline = time.time() + 20
        while time.time() < deadline and not (layers.exists() and len(list(layers.iterdir())) == 1):
            time.sleep(0.02)
        while time.time() < deadline and proxy.blob_gets(big_digest) == 0:
            time.sleep(0.02)
        # the big layer is half way in: some of it written under tmp/
        tmp = hull.state / "images" / "tmp"

        def some_written():
            return any(f.is_file() and f.stat().st_size > 0 for f in tmp.rglob("*"))
        while time.time() < deadline and not some_written():
            time.sleep(0.02)
        assert p.poll() is None, "the pull ended before the kill"
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert len(list(layers.iterdir())) == 1 and list(tmp.iterdir()), "a half layer in tmp/ only"
        assert hull("images", "-q").stdout == ""
        proxy.slow.clear()
        out = hull("pull", ref).stdout
        assert "Already exists" in out and proxy.blob_gets(registry.base_digest) == 1, out
        assert proxy.blob_gets(big_digest) == 2
        assert "temporar" in hull("image", "prune").stdout or not list(tmp.iterdir())
        assert list(tmp.iterdir()) == []
        assert hull.run(ref, "true").returncode == 0
    finally:
        proxy.close()


def test_layers_present_only_manifest_and_config_cross_the_wire(hull, registry):
    # bb/v2s2 is bb/oci's image in Docker's manifest format: the same layers.
    proxy = Proxy(registry.port)
    try:
        hull("pull", f"{proxy.addr}/bb/oci:v1")
        proxy.log.clear()
        out = hull("pull", f"{proxy.addr}/bb/v2s2:v1").stdout
        assert out.count("Already exists") == 2, out
        gets = [p for m, p in proxy.log if m == "GET"]
        # The manifest; not even the config, which is the same blob and in the store.
        assert gets == ["/v2/bb/v2s2/manifests/v1"], proxy.log
        assert hull.run(f"{proxy.addr}/bb/v2s2:v1").stdout == "from registry\n"
    finally:
        proxy.close()


def test_two_pulls_at_once_fetch_each_layer_once(hull, registry):
    proxy = Proxy(registry.port)
    proxy.delay = 0.5
    try:
        ref = f"{proxy.addr}/bb/oci:v1"
        procs = [subprocess.Popen([str(HULL), "pull", ref], env=hull.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        man = json.loads((hull.state / "images/blobs/sha256" /
                          hull("pull", "-q", ref).stdout.strip()[7:]).read_text())
        for l in man["layers"]:
            assert proxy.blob_gets(l["digest"]) == 1, proxy.log
        assert len(json.loads(hull("images", "--format", "json").stdout)) == 1
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory, registry):
    tmp = tmp_path_factory.mktemp("basic")
    reg = Registry(tmp, auth=htpasswd_auth(tmp, "alice", "s3cret"))
    layout(tmp / "gz", [([busybox_layer()], "linux/amd64", CMD)])
    reg.skopeo_copy(f"oci:{tmp}/gz:v1", "private/bb:v1", creds="alice:s3cret")
    yield reg
    reg.stop()


def test_basic_auth_login_pull_logout(hull, basic_registry):
    reg = basic_registry
    ref = f"{reg.addr}/private/bb:v1"
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert (f"registry {reg.addr}, repository private/bb: manifest \"v1\": unauthorized" in p.stderr
            and f"hull login {reg.addr}" in p.stderr), p.stderr
    cfg = hull.home / ".docker" / "config.json"
    p = hull("login", "-u", "alice", "--password-stdin", reg.addr, input="wrong\n", check=False)
    assert p.returncode == 1 and "unauthorized" in p.stderr and reg.addr in p.stderr, p.stderr
    assert not cfg.exists()
    p = hull("login", "-u", "alice", "--password-stdin", reg.addr, input="s3cret\n")
    assert p.stdout == "Login Succeeded\n"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    auths = json.loads(cfg.read_text())["auths"]
    import base64
    assert base64.b64decode(auths[reg.addr]["auth"]) == b"alice:s3cret"
    assert [p.name for p in cfg.parent.iterdir()] == ["config.json"]  # no temporary left
    hull("pull", ref)
    assert hull.run(ref, "cat", "/etc/os-release").stdout == "NAME=busybox-test\n"
    # Push needs the credentials too, and gets them the same way.
    hull("tag", ref, f"{reg.addr}/private/copy:v1")
    hull("push", f"{reg.addr}/private/copy:v1")
    assert hull("logout", reg.addr).stdout == f"Removing login credentials for {reg.addr}\n"
    assert json.loads(cfg.read_text())["auths"] == {}
    assert hull("logout", reg.addr).stdout == f"Not logged in to {reg.addr}\n"
    hull("rmi", ref)
    assert "unauthorized" in hull("pull", ref, check=False).stderr


def test_podman_auth_file_and_wrong_password_there(hull, basic_registry, tmp_path):
    import base64
    reg = basic_registry
    ref = f"{reg.addr}/private/bb:v1"
    auth = tmp_path / "xdg" / "containers" / "auth.json"
    auth.parent.mkdir(parents=True)
    auth.write_text(json.dumps({"auths": {reg.addr: {"auth": base64.b64encode(b"alice:nope").decode()}}}))
    p = hull("pull", ref, check=False)
    assert "wrong user name or password" in p.stderr and str(auth) in p.stderr, p.stderr
    auth.write_text(json.dumps({"auths": {reg.addr: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
    hull("pull", ref)
    assert hull("logout", reg.addr).stdout.startswith("Removing")
    assert json.loads(auth.read_text())["auths"] == {}


def test_login_refuses_bad_input(hull, registry):
    p = hull("login", "-u", "x", "--password-stdin", "http://", input="y\n", check=False)
    assert p.returncode == 1 and "no registry" in p.stderr
    p = hull("login", "-u", "x", "--password-stdin", "bad host!", input="y\n", check=False)
    assert p.returncode == 1 and "not a registry host" in p.stderr
    p = hull("login", "--password-stdin", registry.addr, input="y\n", check=False)
    assert p.returncode == 1 and "--password-stdin needs --username" in p.stderr
    assert not (hull.home / ".docker").exists()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory, registry):
    tmp = tmp_path_factory.mktemp("token")
    tokens = TokenServer(tmp, "bob", "pw")
    reg = Registry(tmp, auth=tokens.auth_config())
    reg.tokens = tokens
    layout(tmp / "gz", [([busybox_layer(), second_layer()], "linux/amd64", CMD)])
    reg.skopeo_copy(f"oci:{tmp}/gz:v1", "public/bb:v1", creds="bob:pw")
    reg.skopeo_copy(f"oci:{tmp}/gz:v1", "team/bb:v1", creds="bob:pw")
    yield reg
    reg.stop()
    tokens.close()


def test_bearer_tokens_anonymous_and_logged_in(hull, token_registry):
    reg = token_registry
    reg.tokens.requests.clear()
    hull("pull", f"{reg.addr}/public/bb:v1")
    # One token for the whole pull (manifest, config, both layers), asked for anonymously
    # with the registry's service and the repository's pull scope.
    assert len(reg.tokens.requests) == 1, reg.tokens.requests
    params, auth = reg.tokens.requests[0]
    assert params["service"] == ["hulltest"] and params["scope"] == ["repository:public/bb:pull"] and auth == ""
    p = hull("pull", f"{reg.addr}/team/bb:v1", check=False)
    assert "unauthorized" in p.stderr and f"hull login {reg.addr}" in p.stderr, p.stderr
    p = hull("login", "-u", "bob", "--password-stdin", reg.addr, input="bad\n", check=False)
    assert p.returncode == 1 and "wrong user name or password" in p.stderr, p.stderr
    hull("login", "-u", "bob", "--password-stdin", reg.addr, input="pw\n")
    reg.tokens.requests.clear()
    hull("pull", f"{reg.addr}/team/bb:v1")
    assert len(reg.tokens.requests) == 1 and reg.tokens.requests[0][1].startswith("Basic ")
    assert hull.run(f"{reg.addr}/team/bb:v1", "cat", "/etc/added").stdout == "added\n"
    # Push with a pull,push token; a blob the registry has in team/bb is mounted, not sent.
    hull("tag", f"{reg.addr}/team/bb:v1", f"{reg.addr}/team/copy:v2")
    out = hull("push", f"{reg.addr}/team/copy:v2").stdout
    assert out.count(": Mounted from ") == 3 and "Pushed" not in out, out


@pytest.fixture
def podman(tmp_path):
    """podman with storage (vfs: plain directories, nothing mounted) under the test's dir."""
    home = tmp_path / "podman"
    for d in ("root", "runroot", "tmp"):
        (home / d).mkdir(parents=True)
    (home / "storage.conf").write_text(f'[storage]\ndriver = "vfs"\nrunroot = "{home}/runroot"\n'
                                       f'graphroot = "{home}/root"\n')
    (home / "registries.conf").write_text("unqualified-search-registries = []\n")
    env = dict(os.environ, CONTAINERS_STORAGE_CONF=str(home / "storage.conf"),
               CONTAINERS_REGISTRIES_CONF=str(home / "registries.conf"), TMPDIR=str(home / "tmp"))

    def run(*args, check=True):
        p = subprocess.run(["podman", *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
        assert not check or p.returncode == 0, p.stderr
        return p
    run.home = home
    yield run
    # Not `system reset`: without a containers.conf of its own it would reach for the host's
    # networks too. The vfs store is plain directories under the test's dir.
    run("rmi", "--all", "--force", check=False)


def podman_tree(podman, ref):
    """path -> (uid, gid, mode, sha256 or link target) of the image's root, as podman stores it."""
    import hashlib
    root = Path(podman("image", "mount", ref).stdout.strip())
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = "/" + str(p.relative_to(root))
            what = (os.readlink(p) if stat.S_ISLNK(st.st_mode) else
                    hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else "")
            out[rel] = (st.st_uid, st.st_gid, oct(st.st_mode), what)
    podman("image", "unmount", ref)
    return out


def hull_tree(hull, ref):
    """The same listing from inside a container hull runs from the image."""
    script = ("cd /; /bin/busybox find . -xdev | while read f; do f=${f#.}; [ -z \"$f\" ] && continue; "
              "t=$(/bin/busybox stat -c '%u %g %f' \"$f\"); "
              "if [ -L \"$f\" ]; then w=$(/bin/busybox readlink \"$f\"); "
              "elif [ -f \"$f\" ]; then w=$(/bin/busybox sha256sum \"$f\" | /bin/busybox cut -d' ' -f1); "
              "else w=; fi; echo \"$f|$t|$w\"; done")
    p = hull.run(ref, "/bin/busybox", "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        path, meta, what = line.split("|")
        uid, gid, mode = meta.split()
        out[path] = (int(uid), int(gid), oct(int(mode, 16)), what)
    # What the runtime mounts over the image's own.
    for mp in ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        out.pop(mp, None)
    return out


def test_push_then_skopeo_and_podman_read_it(hull, registry, podman, tmp_path):
    arch = tmp_path / "bb.tar"
    docker_archive(arch, [busybox_layer(), second_layer()], tags=("hulltest/pushme:v1",), gzip_layers=True,
                   Cmd=["echo", "pushed"])
    hull("load", "-i", arch)
    ref = f"{registry.addr}/pushed/bb:v1"
    hull("tag", "hulltest/pushme:v1", ref)
    out = hull("push", ref).stdout
    assert out.count(": Pushed") == 3 or "Layer already exists" in out, out
    digest = hull("push", "-q", ref).stdout.strip()
    assert digest == json.loads(hull("images", "--format", "json").stdout)[0]["digest"]
    info = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
                                     check=True, capture_output=True, text=True).stdout)
    assert info["Digest"] == digest and len(info["Layers"]) == 2 and info["Architecture"] == "amd64"
    podman("pull", "--tls-verify=false", ref)
    # The same files, owners, modes and contents in podman's copy and in hull's container;
    # whiteouts applied (remove-me gone, conf.d opaque).
    theirs = podman_tree(podman, ref)
    hull("rmi", ref, "hulltest/pushme:v1")
    hull("image", "prune")
    hull("pull", ref)
    ours = hull_tree(hull, ref)
    for mp in ("/proc", "/sys", "/dev"):
        theirs.pop(mp)
    assert "/etc/remove-me" not in theirs and "/etc/conf.d/base.conf" not in theirs
    assert ours == theirs
    # A second push: every blob is there already.
    out = hull("push", ref).stdout
    assert out.count("Layer already exists") == 3, out


def upload_sessions(uploads):
    """The proxy's PATCH/PUT log as (digest, [(method, Content-Range, body length)]) per upload
    session (its id in the path), in order."""
    from urllib.parse import parse_qs, urlsplit
    by_id = {}
    for m, path, r, n in uploads:
        if "/blobs/uploads/" in path:
            by_id.setdefault(path.split("/blobs/uploads/")[1].split("?")[0], []).append((m, path, r, n))
    return [(parse_qs(urlsplit(reqs[-1][1]).query)["digest"][0], [(m, r, n) for m, _, r, n in reqs])
            for reqs in by_id.values()]


def test_push_in_chunks_then_skopeo_and_podman_read_it(hull, registry, podman, tmp_path):
    big = Layer().dir("data").file("data/big", os.urandom(5 << 20)).bytes()
    arch = tmp_path / "big.tar"
    docker_archive(arch, [busybox_layer(), big], tags=("hulltest/chunky:v1",), Cmd=["echo", "chunked"])
    hull("load", "-i", arch)
    big_digest, size, mib = sha256(big), len(big), 1 << 20
    proxy = Proxy(registry.port)
    try:
        ref = f"{proxy.addr}/chunked/bb:v1"
        hull("tag", "hulltest/chunky:v1", ref)
        hull.env["HULL_PUSH_CHUNK_SIZE"] = "1m"
        p = hull("push", ref, check=False)
        assert p.returncode == 1 and p.stderr == 'hull: HULL_PUSH_CHUNK_SIZE="1m": not a number of bytes\n', p.stderr
        hull.env["HULL_PUSH_CHUNK_SIZE"] = str(mib)
        hull("push", ref)
        # The 5 MiB layer in 1 MiB PATCHes, back to back from 0, then a PUT ?digest= with no
        # body; a blob under 1 MiB (the config) whole, in its PUT.
        sessions = dict(upload_sessions(proxy.uploads))
        want = [("PATCH", f"{o}-{min(o + mib, size) - 1}", min(mib, size - o)) for o in range(0, size, mib)]
        assert sessions.get(big_digest) == want + [("PUT", None, 0)], (big_digest, sessions)
        assert any(len(reqs) == 1 and reqs[0][0] == "PUT" and 0 < reqs[0][2] < mib for reqs in sessions.values())
        digest = hull("push", "-q", ref).stdout.strip()
        theirs_ref = f"{registry.addr}/chunked/bb:v1"
        info = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{theirs_ref}"],
                                         check=True, capture_output=True, text=True).stdout)
        assert info["Digest"] == digest and big_digest in info["Layers"]
        # A registry that takes no blob over 1 MiB whole (413): the push goes in chunks (and
        # the first name untagged, so that nothing is mounted from there).
        proxy.uploads.clear()
        proxy.max_put = mib
        hull.env["HULL_PUSH_CHUNK_SIZE"] = str(8 * mib)
        ref2 = f"{proxy.addr}/chunked/refused:v1"
        hull("tag", "hulltest/chunky:v1", ref2)
        hull("rmi", ref)
        hull("push", ref2)
        tries = [reqs for d, reqs in upload_sessions(proxy.uploads) if d == big_digest]
        assert tries == [[("PUT", None, size)], [("PATCH", f"0-{size - 1}", size), ("PUT", None, 0)]], tries
    finally:
        proxy.close()
    podman("pull", "--tls-verify=false", theirs_ref)
    theirs = podman_tree(podman, theirs_ref)
    hull("rmi", ref2, "hulltest/chunky:v1")
    hull("image", "prune")
    hull.env.pop("HULL_PUSH_CHUNK_SIZE")
    hull("pull", theirs_ref)
    ours = hull_tree(hull, theirs_ref)
    for mp in ("/proc", "/sys", "/dev"):
        theirs.pop(mp)
    assert "/data/big" in ours and ours == theirs


def test_registries_conf_mirror_blocked_and_bad_file(hull, registry, tmp_path):
    conf = tmp_path / "registries.conf"
    conf.write_text('unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nlocation = "docker.io"\n'
                    f'[[registry.mirror]]\nlocation = "127.0.0.1:1"\n[[registry.mirror]]\nlocation = "{registry.addr}"\n')
    # docker.io is unreachable here: its second mirror answers (the first one refuses).
    p = hull("pull", "bb/oci:v1")
    assert p.stdout.splitlines()[-1] == "docker.io/bb/oci:v1"
    assert hull.run("bb/oci:v1").stdout == "from registry\n"
    conf.write_text(f'[[registry]]\nlocation = "{registry.addr}"\nblocked = true\n')
    p = hull("pull", f"{registry.addr}/bb/oci:v1", check=False)
    assert p.returncode == 1 and f"registry {registry.addr} is blocked in registries.conf" in p.stderr
    conf.write_text('[[registry]]\nlocation = "x"\ninsecure = maybe\n')
    p = hull("pull", f"{registry.addr}/bb/oci:v1", check=False)
    assert p.returncode == 1 and p.stderr.startswith(f"hull: {conf}: line 3: "), p.stderr


def test_progress_on_a_terminal_redraws_layer_lines(hull, registry):
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([str(HULL), "pull", f"{registry.addr}/bb/oci:v1"], env=hull.env, stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    out = read_to_eof(master)
    os.close(master)
    assert p.wait(timeout=60) == 0, p.stderr.read()
    text = out.decode()
    # Rows rewritten in place (cursor up, clear line) and each layer ends "Pull complete".
    assert "\x1b[2K" in text and text.count("Pull complete") == 2, text
    assert "Status: Downloaded newer image" in text


def test_hull_does_not_link_libcurl():
    # libcurl (and libarchive) are dlopen'ed by the image commands: hull-oci never maps them.
    out = subprocess.run(["ldd", str(HULL)], capture_output=True, text=True, check=True).stdout
    assert "libcurl" not in out and "libarchive" not in out, out


def test_tls_registry_on_loopback(hull, tmp_path):
    # HTTPS is tried first; loopback registries are not verified (docker's default), and the
    # plain HTTP ones of the other tests are reached after a failed handshake.
    reg = Registry(tmp_path / "tls", tls=True)
    try:
        layout(tmp_path / "l", [([busybox_layer()], "linux/amd64", CMD)])
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{tmp_path}/l:v1",
                        f"docker://{reg.addr}/tls/bb:v1"], check=True, capture_output=True, timeout=60)
        ref = f"{reg.addr}/tls/bb:v1"
        hull("pull", ref)
        assert hull.run(ref).stdout == "from registry\n"
        hull("tag", ref, f"{reg.addr}/tls/copy:v1")
        hull("push", f"{reg.addr}/tls/copy:v1")
    finally:
        reg.stop()


HELPER = r'''#!/usr/bin/python3
# docker-credential-NAME as docker runs it: get/store/erase, the store a JSON file beside it,
# every call logged as "VERB INPUT" lines.
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
store_path, log_path = os.path.join(here, "store.json"), os.path.join(here, "calls.log")
verb, data = sys.argv[1], sys.stdin.read()
with open(log_path, "a") as log:
    log.write(f"{os.path.basename(sys.argv[0])} {verb} {data}\n")
store = json.load(open(store_path)) if os.path.exists(store_path) else {}
if os.path.exists(os.path.join(here, "broken")):
    print("the keychain is locked")
    sys.exit(1)
if verb == "get":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(dict(store[data], ServerURL=data)))
elif verb == "store":
    c = json.loads(data)
    store[c["ServerURL"]] = {"Username": c["Username"], "Secret": c["Secret"]}
elif verb == "erase":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    del store[data]
json.dump(store, open(store_path, "w"))
'''


@pytest.fixture
def cred_helper(hull, tmp_path):
    """docker-credential-hulltest, a real program on the PATH hull is run with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    prog = bin_dir / "docker-credential-hulltest"
    prog.write_text(HELPER)
    prog.chmod(0o755)
    hull.env["PATH"] = f"{bin_dir}:{os.environ['PATH']}"

    class Helper:
        dir = bin_dir

        def calls(self):
            log = bin_dir / "calls.log"
            return log.read_text().splitlines() if log.exists() else []

        def store(self):
            f = bin_dir / "store.json"
            return json.loads(f.read_text()) if f.exists() else {}

        def __truediv__(self, name):
            return bin_dir / name
    return Helper()


def test_creds_store_helper_login_pull_logout(hull, basic_registry, cred_helper):
    reg = basic_registry
    ref = f"{reg.addr}/private/bb:v1"
    cfg = hull.home / ".docker" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"credsStore": "hulltest"}))
    # Nothing stored: the helper says so, and the registry's refusal is what the user sees.
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and "unauthorized" in p.stderr and f"hull login {reg.addr}" in p.stderr, p.stderr
    assert cred_helper.calls()[0] == f"docker-credential-hulltest get {reg.addr}"
    p = hull("login", "-u", "alice", "--password-stdin", reg.addr, input="wrong\n", check=False)
    assert p.returncode == 1 and "unauthorized" in p.stderr and cred_helper.store() == {}, p.stderr
    hull("login", "-u", "alice", "--password-stdin", reg.addr, input="s3cret\n")
    # The secret is the helper's; docker's file only lists the registry, as docker writes it.
    assert cred_helper.store() == {reg.addr: {"Username": "alice", "Secret": "s3cret"}}
    assert json.loads(cfg.read_text()) == {"credsStore": "hulltest", "auths": {reg.addr: {}}}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    hull("pull", ref)
    assert hull.run(ref, "cat", "/etc/os-release").stdout == "NAME=busybox-test\n"
    hull("tag", ref, f"{reg.addr}/private/helper:v1")
    hull("push", f"{reg.addr}/private/helper:v1")
    # A wrong secret in the helper is named as the helper's.
    (cred_helper / "store.json").write_text(json.dumps({reg.addr: {"Username": "alice", "Secret": "nope"}}))
    hull("rmi", ref, f"{reg.addr}/private/helper:v1")
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert "wrong user name or password (credential helper docker-credential-hulltest)" in p.stderr, p.stderr
    assert hull("logout", reg.addr).stdout == f"Removing login credentials for {reg.addr}\n"
    assert cred_helper.calls()[-1] == f"docker-credential-hulltest erase {reg.addr}"
    assert cred_helper.store() == {} and json.loads(cfg.read_text())["auths"] == {}
    assert hull("logout", reg.addr).stdout == f"Not logged in to {reg.addr}\n"


def test_cred_helpers_per_registry_and_helper_failures(hull, registry, basic_registry, cred_helper):
    reg = basic_registry
    ref = f"{reg.addr}/private/bb:v1"
    cfg = hull.home / ".docker" / "config.json"
    cfg.parent.mkdir()
    (cred_helper / "store.json").write_text(json.dumps({reg.addr: {"Username": "alice", "Secret": "s3cret"}}))
    # credHelpers names this registry's helper; credsStore (missing from PATH) is every other's.
    cfg.write_text(json.dumps({"credsStore": "nosuch", "credHelpers": {reg.addr: "hulltest"}}))
    hull("pull", ref)
    assert cred_helper.calls() == [f"docker-credential-hulltest get {reg.addr}"]
    p = hull("pull", f"{registry.addr}/bb/oci:v1", check=False)
    assert p.returncode == 1 and p.stderr == (f"hull: credential helper docker-credential-nosuch (for registry "
                                              f"{registry.addr}) is not in $PATH\n"), p.stderr
    p = hull("login", "-u", "x", "--password-stdin", registry.addr, input="y\n", check=False)
    assert p.returncode == 1 and "docker-credential-nosuch" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    # A helper that fails: its own words, one line.
    (cred_helper / "broken").write_text("")
    hull("rmi", ref)
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert (f"credential helper docker-credential-hulltest, registry {reg.addr}: get: the keychain is locked"
            in p.stderr), p.stderr
    p = hull("logout", reg.addr, check=False)
    assert p.returncode == 1 and "docker-credential-hulltest, registry" in p.stderr and "erase: the keychain is locked" in p.stderr
    (cred_helper / "broken").unlink()
    # An identity token where the registry wants a password (basic auth): said so, not sent.
    (cred_helper / "store.json").write_text(json.dumps({reg.addr: {"Username": "<token>", "Secret": "refresh"}}))
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert (f"registry {reg.addr}, repository private/bb: the credential helper docker-credential-hulltest gave "
            "an identity token, and the registry asks for a user name and password") in p.stderr, p.stderr
    # A helper's name is a name, not a path; a credsStore that is not a string names the file.
    cfg.write_text(json.dumps({"credHelpers": {reg.addr: "../../bin/sh"}}))
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and "not a helper name" in p.stderr, p.stderr
    cfg.write_text(json.dumps({"credsStore": 7}))
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr == f"hull: {cfg}: credsStore: not a string\n", p.stderr


def test_identity_token_from_a_helper_is_exchanged_at_the_token_server(hull, token_registry, cred_helper):
    """docker's OAuth2 flow: "<token>" as the helper's user name makes its secret a refresh
    token, POSTed to the realm (grant_type=refresh_token) for the bearer token."""
    reg = token_registry
    ref = f"{reg.addr}/team/bb:v1"
    cfg = hull.home / ".docker" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"credHelpers": {reg.addr: "hulltest"}}))
    (cred_helper / "store.json").write_text(json.dumps({reg.addr: {"Username": "<token>", "Secret": "stale"}}))
    p = hull("pull", ref, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert ("unauthorized: the identity token was refused (credential helper docker-credential-hulltest)"
            in p.stderr), p.stderr
    (cred_helper / "store.json").write_text(json.dumps({reg.addr: {"Username": "<token>", "Secret": reg.tokens.refresh}}))
    reg.tokens.requests.clear()
    hull("pull", ref)
    assert hull.run(ref, "cat", "/etc/added").stdout == "added\n"
    params, how = reg.tokens.requests[0]
    assert how == "POST" and params["grant_type"] == ["refresh_token"] and params["service"] == ["hulltest"]
    assert params["scope"] == ["repository:team/bb:pull"] and params["client_id"] == ["hull"]
    assert all(how == "POST" for _, how in reg.tokens.requests), reg.tokens.requests
