"""The OCI face's informational commands: spec, features, --version; runc's spellings."""
import json
import re
import subprocess

from hulltest import cgroup_layout, HULL


def test_version_is_in_runcs_layout_under_the_name_it_was_called(hull, tmp_path):
    # containerd's go-runc reads "<name> version X", "commit: ", "spec: " (runc's layout).
    p = hull.oci("--version", root=False)
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"hull-oci version \d+\.\d+\.\d+", lines[0]), lines
    assert re.fullmatch(r"commit: [0-9a-f]{12}(-dirty)?", lines[1]), lines
    assert lines[2] == "spec: 1.2.0"
    assert lines[3].startswith("libseccomp: 2.")
    assert lines[4].startswith("features: ") and "+SECCOMP" in lines[4]
    assert hull.oci("-v", root=False).stdout == p.stdout
    # Standing in for runc on a PATH, it says runc, as go-runc's parser requires.
    (tmp_path / "runc").symlink_to(HULL)
    out = subprocess.run([str(tmp_path / "runc"), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == lines[0].replace("hull-oci", "runc") and out.splitlines()[1:] == lines[1:]
    out = subprocess.run([str(HULL), "oci", "--version"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == lines[0].replace("hull-oci", "hull")


def test_help_is_in_runcs_layout_and_an_unknown_command_fails(hull):
    for args in (["--help"], ["-h"], ["help"]):
        p = hull.oci(*args, root=False)
        sections = [l for l in p.stdout.splitlines() if l and not l[0].isspace() and l.endswith(":")]
        assert sections == ["NAME:", "USAGE:", "VERSION:", "COMMANDS:", "GLOBAL OPTIONS:"], p.stdout
        assert re.search(r"^   create +create a container$", p.stdout, re.M), p.stdout
        assert re.search(r"^   --log-format value +", p.stdout, re.M), p.stdout
    assert "--bundle" in hull.oci("create", "--help", root=False).stdout
    for args in (["frobnicate", "-h"], ["frobnicate", "--help"], ["frobnicate"], ["--debug", "frobnicate", "x"]):
        p = hull.oci(*args, check=False, root=False)
        assert p.returncode == 1 and p.stdout == "", (args, p.stdout)
        assert p.stderr == 'hull: unknown command "frobnicate": `hull-oci --help` lists them\n', p.stderr


LOGRUS_TEXT = re.compile(r'^time="\d{4}-\d\d-\d\dT[^"]+" level=(debug|info|warning|error) msg=')


def test_debug_lines_are_logrus_text_on_stderr_and_json_when_asked(hull, bundle, tmp_path):
    b = bundle(["true"])
    p = hull.oci("--debug", "run", "--bundle", b.path, hull.new_id())
    lines = p.stderr.splitlines()
    assert lines and all(LOGRUS_TEXT.match(l) for l in lines), p.stderr
    assert any(" level=debug msg=" in l for l in lines)
    p = hull.oci("--debug", "--log-format", "json", "run", "--bundle", b.path, hull.new_id())
    entries = [json.loads(l) for l in p.stderr.splitlines()]
    assert entries and {e["level"] for e in entries} == {"debug"} and all(e["time"].endswith("Z") for e in entries)
    # --log: the lines go to the file, in text or JSON; an error is also one line on stderr.
    log = tmp_path / "hull.log"
    p = hull.oci("--debug", "--log", log, "--log-format", "text", "kill", "nope", "KILL", check=False)
    assert p.returncode == 1 and p.stderr == "hull: container nope does not exist\n"
    text = log.read_text().splitlines()
    assert all(LOGRUS_TEXT.match(l) for l in text) and 'level=error msg="container nope does not exist"' in text[-1]


def test_spec_writes_a_config_that_parses_and_runs(hull, bundle, tmp_path):
    out = tmp_path / "spec"
    out.mkdir()
    hull.oci("spec", "--bundle", out, root=False)
    c = json.loads((out / "config.json").read_text())
    assert c["ociVersion"] == "1.2.0" and c["root"] == {"path": "rootfs", "readonly": True}
    # A cgroup namespace only on a pure cgroup v2 host, as runc (issue 18).
    expected = {"pid", "network", "ipc", "uts", "mount"} | ({"cgroup"} if cgroup_layout() == "v2" else set())
    assert {n["type"] for n in c["linux"]["namespaces"]} == expected
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
    assert f["linux"]["cgroup"]["v1"] and f["linux"]["cgroup"]["v2"] and f["linux"]["cgroup"]["systemd"]
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
