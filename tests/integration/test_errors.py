"""Bad input and failures in the container init: one line naming the step and the path with
the errno text, exit 1, nothing left behind (the fixture checks state, cgroups, mounts,
processes after every test)."""
import json

import pytest


def create_fails(hull, b):
    cid = hull.new_id()
    p = hull.oci("create", "--bundle", b.path, cid, check=False)
    assert p.returncode == 1, p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert hull.oci("state", cid, check=False).returncode == 1
    return lines[0]


def test_missing_executable(hull, bundle):
    b = bundle(["no-such-binary"])
    msg = create_fails(hull, b)
    assert msg.endswith('exec: "no-such-binary": executable file not found in $PATH: no such file or directory')


def test_executable_given_by_path_that_does_not_exist(hull, bundle):
    msg = create_fails(hull, bundle(["/bin/nope"]))
    assert msg.endswith('exec "/bin/nope": no such file or directory')


def test_file_that_is_not_executable(hull, bundle):
    b = bundle(["/etc/passwd"])
    msg = create_fails(hull, b)
    assert msg.endswith('exec "/etc/passwd": permission denied')


def test_bad_cwd(hull, bundle):
    # A missing cwd is created (runc); one that is a file is not a directory.
    b = bundle(["true"])
    b.process["cwd"] = "/bin/busybox"
    b.save()
    msg = create_fails(hull, b)
    assert msg.endswith('chdir to cwd "/bin/busybox": not a directory')


def test_bad_bind_source(hull, bundle, tmp_path):
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/x", "type": "bind", "source": str(tmp_path / "missing"),
                               "options": ["bind"]})
    b.save()
    msg = create_fails(hull, b)
    assert f"mounts[{len(b.config['mounts']) - 1}]" in msg and str(tmp_path / "missing") in msg
    assert msg.endswith("no such file or directory")


def test_bad_filesystem_type(hull, bundle):
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
    b.save()
    msg = create_fails(hull, b)
    assert "mount nosuchfs on /x: no such device" in msg


def test_missing_rootfs(hull, bundle):
    b = bundle(["true"])
    b.config["root"]["path"] = "not-there"
    b.save()
    msg = create_fails(hull, b)
    assert msg.endswith(f"root.path: {b.path}/not-there: no such file or directory")


def test_missing_config(hull, tmp_path):
    (tmp_path / "empty").mkdir()
    p = hull.oci("create", "--bundle", tmp_path / "empty", hull.new_id(), check=False)
    assert p.returncode == 1 and f"open {tmp_path}/empty/config.json: no such file or directory" in p.stderr


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["linux"]["namespaces"].insert(2, {"type": "netw"}), 'linux.namespaces[2].type: unknown namespace "netw"'),
    (lambda c: c.__setitem__("ociVersion", "2.0.0"), 'ociVersion: unsupported version "2.0.0"'),
    (lambda c: c.__setitem__("ociVersion", "one"), 'ociVersion: "one" is not a version'),
    (lambda c: c["process"].__setitem__("args", "sh"), "process.args: expected an array, got string"),
    (lambda c: c["process"]["user"].__setitem__("uid", -1), "process.user.uid: value -1 out of range"),
    (lambda c: c["process"].__setitem__("cwd", "relative"), 'process.cwd: "relative" is not an absolute path'),
    (lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
     'process.rlimits[1].type: unknown rlimit "RLIMIT_BOGUS"'),
    (lambda c: c["mounts"][0].pop("destination"), "mounts[0].destination: required"),
    (lambda c: c["linux"].__setitem__("rootfsPropagation", "sideways"), 'linux.rootfsPropagation: unknown propagation "sideways"'),
    (lambda c: c["linux"].__setitem__("uidMappings", [{"containerID": 0, "hostID": 1000, "size": 1}]),
     "linux.uidMappings: only valid with a new user namespace"),
    (lambda c: c["linux"]["namespaces"].insert(1, {"type": "pid"}), 'linux.namespaces[1].type: namespace "pid" given twice'),
    (lambda c: c["linux"].__setitem__("devices", [{"type": "x", "path": "/dev/x"}]),
     'linux.devices[0].type: unknown device type "x"'),
    (lambda c: c["linux"]["resources"].__setitem__("memory", {"limit": "big"}),
     'linux.resources.memory.limit: expected an integer, got string "big"'),
    (lambda c: c.__setitem__("hooks", {"poststart": [{"path": "/x", "timeout": 0}]}),
     "hooks.poststart[0].timeout: 0 must be greater than zero"),
    (lambda c: c["linux"]["namespaces"].append({"type": "user"}), "linux.uidMappings: required with a new user namespace"),
])
def test_invalid_config_is_refused_naming_the_json_path(hull, bundle, mutate, message):
    b = bundle(["true"])
    mutate(b.config)
    b.save()
    msg = create_fails(hull, b)
    assert msg.startswith("hull: create ") and message in msg, msg


def test_invalid_json(hull, bundle):
    b = bundle(["true"])
    (b.path / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
    msg = create_fails(hull, b)
    # Where the document broke off (issue 16): the JSON path, then the parser's own words.
    assert "config.json: invalid JSON at process: parse error at line 1" in msg


def test_unknown_fields_are_ignored(hull, bundle):
    b = bundle(["echo", "fine"])
    b.config["somethingNew"] = {"x": 1}
    b.process["futureField"] = [1, 2]
    b.linux["futureLinux"] = "y"
    b.save()
    assert hull.run(b).stdout == "fine\n"


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1"])
def test_accepted_oci_versions(hull, bundle, version):
    b = bundle(["true"])
    b.config["ociVersion"] = version
    b.save()
    assert hull.run(b).returncode == 0


def test_invalid_container_id(hull, bundle):
    b = bundle(["true"])
    for bad in ("../escape", "-dash", "a/b", ""):
        p = hull.oci("create", "--bundle", b.path, "--", bad, check=False)
        assert p.returncode == 1 and "container id" in p.stderr


def test_log_format_json_writes_runc_style_error_lines(hull, bundle, tmp_path):
    b = bundle(["no-such-binary"])
    log = tmp_path / "log.json"
    p = hull.oci("--log", log, "--log-format", "json", "create", "--bundle", b.path, hull.new_id(), check=False)
    assert p.returncode == 1
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert entries[-1]["level"] == "error" and "executable file not found" in entries[-1]["msg"]
    assert entries[-1]["time"].endswith("Z")


def test_commands_work_without_path_and_home(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b, env={})
    assert hull.oci("state", cid, env={}).returncode == 0
    hull.oci("delete", cid, env={})
