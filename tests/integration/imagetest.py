"""Images made in the tests, offline: a busybox root file system (Debian's busybox-static) as
tar layers, and docker-archives / OCI layouts written here byte by byte, so what hull loads
is known exactly (and hostile archives can be made)."""
import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
APPLETS = ["sh", "echo", "cat", "ls", "id", "pwd", "env", "sleep", "test", "true", "false", "stat",
           "mkdir", "rm", "touch", "ps", "wc", "head", "printf", "kill", "find", "readlink"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layer:
    """A tar layer built in memory: add files, dirs, symlinks, hard links, whiteouts."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _add(self, info, data=None):
        info.mtime = info.mtime or 1700000000
        self.tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return self

    def dir(self, name, mode=0o755, uid=0, gid=0):
        i = tarfile.TarInfo(name)
        i.type, i.mode, i.uid, i.gid = tarfile.DIRTYPE, mode, uid, gid
        return self._add(i)

    def file(self, name, data=b"", mode=0o644, uid=0, gid=0, xattrs=None, mtime=None):
        data = data.encode() if isinstance(data, str) else data
        i = tarfile.TarInfo(name)
        i.size, i.mode, i.uid, i.gid = len(data), mode, uid, gid
        i.mtime = mtime or 0
        if xattrs:
            i.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        return self._add(i, data)

    def fifo(self, name, mode=0o600):
        i = tarfile.TarInfo(name)
        i.type, i.mode = tarfile.FIFOTYPE, mode
        return self._add(i)

    def symlink(self, name, target):
        i = tarfile.TarInfo(name)
        i.type, i.linkname, i.mode = tarfile.SYMTYPE, target, 0o777
        return self._add(i)

    def hardlink(self, name, target):
        i = tarfile.TarInfo(name)
        i.type, i.linkname = tarfile.LNKTYPE, target
        return self._add(i)

    def whiteout(self, path):
        d, b = os.path.split(path)
        return self.file(os.path.join(d, ".wh." + b))

    def opaque(self, dirpath):
        return self.file(os.path.join(dirpath, ".wh..wh..opq"))

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def busybox_layer() -> bytes:
    l = Layer()
    for d in ("bin", "etc", "tmp", "root", "home", "home/app", "proc", "sys", "dev", "var", "data"):
        l.dir(d, mode=0o1777 if d == "tmp" else 0o755, uid=1000 if d == "home/app" else 0,
              gid=1000 if d == "home/app" else 0)
    l.file("bin/busybox", BUSYBOX.read_bytes(), mode=0o755)
    for a in APPLETS:
        l.symlink(f"bin/{a}", "busybox")
    l.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
    l.file("etc/group", "root:x:0:\napp:x:1000:\n")
    l.file("etc/os-release", "NAME=busybox-test\n")
    l.dir("etc/conf.d").file("etc/conf.d/base.conf", "base\n")
    l.file("etc/remove-me", "old\n")
    return l.bytes()


def config(diff_ids, **cfg) -> bytes:
    c = {"architecture": "amd64", "os": "linux", "created": "2026-01-02T03:04:05Z",
         "config": cfg, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    return json.dumps(c).encode()


def docker_archive(path: Path, layers, tags=("hulltest/busybox:latest",), gzip_layers=False,
                   gzip_archive=False, **cfg):
    """layers: uncompressed tar bytes, base first. Writes what `docker save` writes."""
    diff_ids = [sha256(l) for l in layers]
    cfg_bytes = config(diff_ids, **cfg)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        def add(name, data):
            i = tarfile.TarInfo(name)
            i.size, i.mtime = len(data), 1700000000
            t.addfile(i, io.BytesIO(data))
        paths = []
        for l in layers:
            name = sha256(l)[7:] + "/layer.tar"
            if name not in paths:
                add(name, gzip.compress(l, mtime=0) if gzip_layers else l)
            paths.append(name)
        cfg_name = sha256(cfg_bytes)[7:] + ".json"
        add(cfg_name, cfg_bytes)
        add("manifest.json", json.dumps([{"Config": cfg_name, "RepoTags": list(tags),
                                           "Layers": paths}]).encode())
    data = out.getvalue()
    path.write_bytes(gzip.compress(data) if gzip_archive else data)
    return sha256(cfg_bytes)


def oci_layout(path: Path, layers, ref="hulltest/oci:v1", **cfg):
    """An OCI image layout directory with gzip'd layers; returns the manifest digest."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        (blobs / sha256(data)[7:]).write_bytes(data)
        return sha256(data)
    diff_ids = [sha256(l) for l in layers]
    descs = []
    for l in layers:
        gz = gzip.compress(l, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz),
                      "size": len(gz)})
    cfg_bytes = config(diff_ids, **cfg)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": put(cfg_bytes), "size": len(cfg_bytes)},
                           "layers": descs}).encode()
    md = put(manifest)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": ref}}]}))
    return md


def second_layer() -> bytes:
    """On top of busybox_layer: a new file, a deleted one, an opaque directory."""
    return (Layer().dir("etc").file("etc/added", "added\n").whiteout("etc/remove-me")
            .dir("etc/conf.d").opaque("etc/conf.d").file("etc/conf.d/new.conf", "new\n").bytes())
