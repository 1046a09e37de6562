"""Archives written by podman and skopeo load into hull and run; the same image shows the same
files under podman and under hull (whiteouts, opaque directories). podman runs with runc here:
what is compared is the image handling, not the runtime."""
import shutil
import subprocess
import uuid

import pytest

from hulltest import Friendly
from imagetest import busybox_layer, docker_archive, second_layer

NAME = "localhost/layered:latest"
LOOK = "cat /etc/added; ls /etc/conf.d; test -e /etc/remove-me && echo still-there; ls /bin | wc -l"


@pytest.fixture
def hull_images(tmp_path):
    f = Friendly(tmp_path / "hull", prefix="i" + uuid.uuid4().hex[:8])
    yield f
    left = f.leftovers()
    if left:
        f.force_cleanup()
    assert not left, "left behind: " + "; ".join(left)


@pytest.fixture
def layered(podman, tmp_path):
    """busybox + a layer with a whiteout and an opaque dir, in podman's store."""
    arch = tmp_path / "layered.tar"
    docker_archive(arch, [busybox_layer(), second_layer()], tags=(NAME,), Cmd=["sh"], Env=["PATH=/bin"])
    podman("load", "-i", arch)
    yield podman
    podman("rmi", "--force", NAME, check=False)


def podman_sees(podman):
    return podman("--runtime", shutil.which("runc"), "run", "--rm", NAME, "sh", "-c", LOOK).stdout


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_save_loads_and_shows_what_podman_shows(layered, hull_images, tmp_path, fmt):
    out = tmp_path / f"saved.{fmt}"
    layered("save", "--format", fmt, "-o", out, NAME)
    loaded = hull_images("load", "-i", out).stdout
    assert "Loaded image" in loaded
    ref = NAME if "Loaded image:" in loaded else loaded.split()[-1]
    p = hull_images.run(ref, "sh", "-c", LOOK)
    assert p.returncode == 0, p.stderr
    assert p.stdout == podman_sees(layered)
    assert "still-there" not in p.stdout


def test_skopeo_oci_layout_with_zstd_layers(layered, hull_images, tmp_path):
    arch = tmp_path / "src.tar"
    layered("save", "--format", "docker-archive", "-o", arch, NAME)
    layout = tmp_path / "layout"
    for dest in (f"oci:{layout}:{NAME}", f"oci-archive:{tmp_path / 'zstd.tar'}:{NAME}"):
        r = subprocess.run(["skopeo", "copy", "--dest-compress-format", "zstd", f"docker-archive:{arch}", dest],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    index = (layout / "index.json").read_text()
    assert "zstd" in "".join(f.read_text(errors="ignore") for f in (layout / "blobs" / "sha256").iterdir()
                             if f.stat().st_size < 4096) or "zstd" in index
    assert "Loaded image: localhost/layered:latest" in hull_images("load", "-i", layout).stdout
    assert hull_images.run(NAME, "sh", "-c", LOOK).stdout == podman_sees(layered)
    hull_images("rmi", NAME)
    assert "Loaded image: localhost/layered:latest" in hull_images("load", "-i", tmp_path / "zstd.tar").stdout
    assert hull_images.run(NAME, "sh", "-c", LOOK).stdout == podman_sees(layered)
