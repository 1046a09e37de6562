"""buildah with hull as its OCI runtime: `bud` of a Containerfile whose RUN steps hull runs
(create, start, state polling, delete), in podman's storage so podman can run the result."""
from engines import HULL_OCI, IMAGE, Engine


def test_bud_with_run_steps(podman, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"""FROM {IMAGE}
RUN echo built-by-hull > /built && grep -c /hull/buildah- /proc/self/cgroup > /cgroup-lines
RUN ["sh", "-c", "test -f /built && echo second step sees $(cat /built)"]
ENV STEP=third
RUN echo "$STEP step" >> /built
""")
    home = podman.home
    buildah = Engine(["buildah", "--root", home / "root", "--runroot", home / "runroot", "--storage-driver", "overlay"],
                     podman.env, home)
    p = buildah("bud", "--runtime", HULL_OCI, "--isolation", "oci", "--network", "none", "--layers=false",
                "--tag", "localhost/built-by-hull", ctx, timeout=300)
    assert "second step sees built-by-hull" in p.stdout, p.stdout + p.stderr
    out = podman("run", "--rm", "localhost/built-by-hull", "sh", "-c", "cat /built; cat /cgroup-lines").stdout
    lines = out.split("\n")
    assert lines[:2] == ["built-by-hull", "third step"]
    # hull's default cgroup (/hull/<id>) for a runtime that was given none: hull ran the steps.
    assert int(lines[2]) >= 1
    podman("rmi", "localhost/built-by-hull")
