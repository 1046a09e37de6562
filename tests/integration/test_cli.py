"""The OCI face's informational commands: spec, features, --version; runc's spellings."""
import json
import subprocess

from hulltest import HULL, HULL_OCI


def test_version_names_hull_the_spec_and_features(hull):
    p = hull.oci("--version", root=False)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("hull version ")
    assert lines[1] == "spec: 1.2.0"
    assert lines[2].startswith("libseccomp: 2.")
    assert lines[3].startswith("features: ") and "+SECCOMP" in lines[3]


def test_spec_writes_a_config_that_parses_and_runs(hull, bundle, tmp_path):
    out = tmp_path / "spec"
    out.mkdir()
    hull.oci("spec", "--bundle", out, root=False)
    c = json.loads((out / "config.json").read_text())
    assert c["ociVersion"] == "1.2.0" and c["root"] == {"path": "rootfs", "readonly": True}
    assert {n["type"] for n in c["linux"]["namespaces"]} == {"pid", "network", "ipc", "uts", "mount", "cgroup"}
    assert c["process"]["noNewPrivileges"] is True
    p = hull.oci("spec", "--bundle", out, check=False, root=False)
    assert p.returncode == 1 and "exists" in p.stderr


def test_spec_rootless_has_a_user_namespace_mapping_the_caller(hull, tmp_path):
    hull.oci("spec", "--rootless", "--bundle", tmp_path, root=False)
    c = json.loads((tmp_path / "config.json").read_text())
    kinds = {n["type"] for n in c["linux"]["namespaces"]}
    assert "user" in kinds and "network" not in kinds
    assert c["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 0, "size": 1}]


def test_features_json(hull):
    f = json.loads(hull.oci("features", root=False).stdout)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.2.0"
    assert set(f["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
    assert "rbind" in f["mountOptions"] and "rro" in f["mountOptions"]
    assert set(f["linux"]["namespaces"]) == {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["cgroup"]["v1"] and f["linux"]["cgroup"]["v2"] and not f["linux"]["cgroup"]["systemd"]
    assert f["linux"]["seccomp"]["enabled"] and "SCMP_CMP_MASKED_EQ" in f["linux"]["seccomp"]["operators"]


def test_hull_oci_and_hull_oci_subcommand_are_the_same_face(hull, bundle):
    b = bundle(["echo", "same"])
    cid = hull.new_id()
    p = subprocess.run([str(HULL), "oci", "--root", str(hull.root), "run", "--bundle", str(b.path), cid],
                       capture_output=True, text=True)
    assert p.stdout == "same\n" and p.returncode == 0, p.stderr


def test_checkpoint_is_refused_clearly(hull):
    p = hull.oci("checkpoint", "x", check=False)
    assert p.returncode == 1 and "not supported" in p.stderr


def test_kill_term_ends_a_created_container(hull, bundle):
    # The init waits as PID 1 of its namespace, which ignores signals it has no handler for.
    b = bundle(["true"])
    cid = hull.create(b)
    hull.oci("kill", cid, "TERM")
    hull.wait_status(cid, "stopped")
    hull.oci("delete", cid)


def test_unknown_command_and_missing_argument(hull):
    p = hull.oci("frobnicate", check=False)
    assert p.returncode == 1 and p.stderr.startswith("hull: ")
    p = hull.oci("start", check=False)
    assert p.returncode == 1 and "id is required" in p.stderr
