"""Hostile configs from a seeded generator (issue 16's hostile-input suite).

Each case is the default spec (`hull-oci spec`, running /bin/true) with one hostile change from
a class: wrong JSON types, numbers at and past the edges of their range, NUL and control bytes,
invalid UTF-8, path traversal and symlinked mount destinations aimed at a host directory, huge
arrays, deep nesting, duplicate keys, truncated documents. `hull-oci run` of every case must end
in a run (the container's own exit status) or in exit 1 with exactly one error line, which names
where the problem is when hull calls the configuration invalid; never a crash. After every case nothing may be left (state, cgroups, mounts,
processes) and the host directory the traversal cases aim at must be unchanged, files and
mounts alike (fingerprinted before and after).

HULL_HOSTILE_SEED and HULL_HOSTILE_CASES choose the seed and the number of cases; the seed is
printed so that a failure can be replayed.
"""
import copy
import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

from hulltest import leftovers

SEED = int(os.environ.get("HULL_HOSTILE_SEED", "20261202"))
CASES = int(os.environ.get("HULL_HOSTILE_CASES", "160"))

# Numbers at the edges: of int32/uint32/int64/uint64, negative zero, fractions, exponents.
EDGE_NUMBERS = [-1, 0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, -2**63, 2**64, 2**70, -2**70,
                1.5, -0.0, 1e308, -1e308]
# Numeric fields, with what a path needs to exist first.
NUMERIC_FIELDS = [
    "process.user.uid", "process.user.gid", "process.user.umask", "process.user.additionalGids[0]",
    "process.rlimits[0].hard", "process.rlimits[0].soft", "process.oomScoreAdj",
    "process.consoleSize.height", "process.consoleSize.width",
    "linux.resources.memory.limit", "linux.resources.memory.reservation", "linux.resources.memory.swap",
    "linux.resources.memory.swappiness", "linux.resources.cpu.shares", "linux.resources.cpu.quota",
    "linux.resources.cpu.period", "linux.resources.cpu.realtimeRuntime", "linux.resources.pids.limit",
    "linux.resources.blockIO.weight", "linux.resources.blockIO.throttleReadBpsDevice[0].rate",
    "linux.resources.blockIO.throttleReadBpsDevice[0].major", "linux.resources.hugepageLimits[0].limit",
    "linux.devices[0].major", "linux.devices[0].minor", "linux.devices[0].fileMode", "linux.devices[0].uid",
    "linux.resources.devices[0].major", "linux.seccomp.syscalls[0].args[0].value",
    "linux.seccomp.syscalls[0].args[0].index", "linux.seccomp.syscalls[0].errnoRet",
    "linux.timeOffsets.monotonic.secs", "linux.personality.domain",
]
# What a numeric field's neighbours must hold for the path to mean something.
SCAFFOLD = {
    "process.user.additionalGids": [0],
    "process.consoleSize": {"height": 24, "width": 80},
    "linux.resources.blockIO.throttleReadBpsDevice": [{"major": 1, "minor": 3, "rate": 1048576}],
    "linux.resources.hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
    "linux.devices": [{"path": "/dev/hostile", "type": "c", "major": 1, "minor": 3}],
    "linux.resources.devices": [{"allow": False, "access": "rwm", "type": "c", "major": 1}],
    "linux.seccomp.syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}],
    "linux.timeOffsets": {"monotonic": {"secs": 0, "nanosecs": 0}},
    "linux.personality": {"domain": "LINUX"},
}
NASTY_STRINGS = ["\x00", "a\x00b", "\n", "line\nbreak", "\x1b[2J", "\t", "\x7f", "..", "../../..", "/../../../..",
                 "%s%s%n", "{}", "$(reboot)", "\u202e", "\ud7ff", "x" * 70000, ""]
TYPE_SAMPLES = [None, True, 0, -1, 2**64, 1.25, "", "string", [], [1, "two", None], {}, {"k": {"k": []}}]


def paths_of(node, prefix=""):
    """Every JSON path in the document, as hull names them: process.args[0]."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths_of(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths_of(v, f"{prefix}[{i}]")
    return out


def split(path):
    parts = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


def put(doc, path, value):
    """Sets doc at path, making what is missing on the way (from SCAFFOLD where a path has
    neighbours that must exist for it to mean something)."""
    parts = split(path)
    node = doc
    for i, (part, nxt) in enumerate(zip(parts, parts[1:])):
        dotted = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if j else p) for j, p in enumerate(parts[:i + 1]))
        want = list if isinstance(nxt, int) else dict
        if isinstance(node, list):
            while len(node) <= part:
                node.append(None)
        elif part not in node:
            node[part] = None
        if not isinstance(node[part], want):
            node[part] = copy.deepcopy(SCAFFOLD.get(dotted, [None] if want is list else {}))
        node = node[part]
    if isinstance(node, list):
        while len(node) <= parts[-1]:
            node.append(None)
    node[parts[-1]] = value


def top_of(path):
    return split(path)[0]


class Case:
    def __init__(self, name, raw=None, doc=None, where=None, strict=False):
        # where: what an error about this case must name when hull calls the configuration
        # invalid; strict: any error must name it (not only a validation error).
        self.name, self.raw, self.doc, self.where, self.strict = name, raw, doc, where, strict

    def body(self):
        return self.raw if self.raw is not None else json.dumps(self.doc).encode()


def generate(rng, base, sentinel):
    """One hostile case from a random class."""
    doc = copy.deepcopy(base)
    cls = rng.choice(["type", "type", "number", "number", "string", "string", "traversal", "traversal",
                      "symlink", "huge", "deep", "raw"])
    if cls == "type":
        path = rng.choice(paths_of(doc))
        value = rng.choice(TYPE_SAMPLES)
        put(doc, path, value)
        return Case(f"type {path}={json.dumps(value)[:40]}", doc=doc, where=top_of(path))
    if cls == "number":
        path = rng.choice(NUMERIC_FIELDS)
        value = rng.choice(EDGE_NUMBERS)
        put(doc, path, value)
        return Case(f"number {path}={value}", doc=doc, where=top_of(path))
    if cls == "string":
        strings = [p for p in paths_of(doc) if isinstance(get(doc, p), str)]
        path = rng.choice(strings + ["hostname", "process.cwd", "process.env[0]", "linux.mountLabel",
                                     "annotations.k", "mounts[0].destination", "mounts[0].options[0]"])
        value = rng.choice(NASTY_STRINGS)
        put(doc, path, value)
        return Case(f"string {path}={value[:20]!r}", doc=doc, where=top_of(path))
    if cls == "traversal":
        up = "/.." * 12 + str(sentinel)
        choice = rng.randrange(6)
        if choice == 0:
            doc["mounts"].append({"destination": up, "type": "tmpfs", "source": "tmpfs"})
            return Case("traversal mount destination", doc=doc, where="mounts")
        if choice == 1:
            doc["mounts"].append({"destination": "../../../.." + str(sentinel), "type": "bind",
                                  "source": "/etc", "options": ["rbind", "ro"]})
            return Case("traversal relative mount destination", doc=doc, where="mounts")
        if choice == 2:
            doc["linux"]["maskedPaths"] = [up + "/file"]
            return Case("traversal maskedPaths", doc=doc, where="linux")
        if choice == 3:
            doc["linux"]["readonlyPaths"] = [up]
            return Case("traversal readonlyPaths", doc=doc, where="linux")
        if choice == 4:
            doc["process"]["cwd"] = up
            return Case("traversal cwd", doc=doc, where="process")
        # (root.path may name any directory, by the spec: that is the config's choice, not an
        # escape, so it is no case here.)
        doc["linux"]["devices"] = [{"path": up + "/dev-node", "type": "c", "major": 1, "minor": 3}]
        return Case("traversal device path", doc=doc, where="linux")
    if cls == "symlink":
        # rootfs/evil -> the sentinel (absolute), rootfs/up -> an escaping relative link.
        target = rng.choice(["/evil", "/evil/sub", "/up", "/up/sub", "/evil/file"])
        kind = rng.choice(["tmpfs", "bind"])
        m = {"destination": target, "type": kind, "source": "tmpfs" if kind == "tmpfs" else "/etc"}
        if kind == "bind":
            m["options"] = ["rbind", "ro"]
        doc["mounts"].append(m)
        return Case(f"symlinked destination {target} ({kind})", doc=doc, where="mounts")
    if cls == "huge":
        choice = rng.randrange(6)
        if choice == 0:
            doc["process"]["env"] = [f"V{i}=" + "x" * 64 for i in range(100000)]
            return Case("huge env", doc=doc, where="process", strict=True)
        if choice == 1:
            doc["process"]["args"] = ["true"] + ["x" * 100] * 100000
            return Case("huge args", doc=doc, where="process", strict=True)
        if choice == 2:
            doc["mounts"] += [{"destination": f"/m{i}", "type": "nosuchfs", "source": "none"} for i in range(3000)]
            return Case("huge mounts", doc=doc, where="mounts", strict=True)
        if choice == 3:
            doc["linux"]["namespaces"] = doc["linux"]["namespaces"] * 5000
            return Case("huge namespaces (duplicates)", doc=doc, where="linux", strict=True)
        if choice == 4:
            doc["process"]["user"]["additionalGids"] = list(range(100000))
            return Case("huge additionalGids", doc=doc, where="process", strict=True)
        doc["annotations"] = {f"k{i}": "v" * 10 for i in range(200000)}
        return Case("huge annotations", doc=doc, where="annotations", strict=True)
    if cls == "deep":
        depth = rng.choice([1000, 100000, 1000000])
        where = rng.choice(["x-unknown", "annotations", "process"])
        text = json.dumps(doc)
        nested = "[" * depth + "]" * depth
        body = text[:-1] + f', "{where}": {nested}' + "}" if where != "process" else \
            text.replace('"process": {', f'"process": {{"deep": {nested}, ', 1)
        return Case(f"deep {depth} in {where}", raw=body.encode(), where=where if where != "x-unknown" else None, strict=True)
    # raw documents: duplicate keys, truncation, invalid UTF-8, garbage, not an object.
    text = json.dumps(doc)
    choice = rng.randrange(6)
    if choice == 0:
        return Case("duplicate key", raw=(text[:-1] + ', "process": {"args": 5}}').encode(), where="process", strict=True)
    if choice == 1:
        cut = rng.randrange(1, len(text) - 1)
        return Case(f"truncated at {cut}", raw=text[:cut].encode(), where="config.json", strict=True)
    if choice == 2:
        return Case("invalid UTF-8", raw=text.replace('"true"', '"tr\xff\xfeue"').encode("latin-1"),
                    where="config.json", strict=True)
    if choice == 3:
        return Case("random bytes", raw=bytes(rng.randrange(256) for _ in range(512)), where="config.json", strict=True)
    if choice == 4:
        return Case("not an object", raw=rng.choice([b"[]", b"null", b"42", b'"config"', b""]),
                    where="config.json", strict=True)
    return Case("NUL byte in the document", raw=text.replace('"cwd"', '"c\x00wd"').encode(), where="config.json", strict=True)


def get(doc, path):
    node = doc
    for part in split(path):
        node = node[part]
    return node


def fingerprint(root: Path):
    """Files (mode, owner, size, content hash) and mounts under root."""
    seen = []
    for p in sorted([root] + list(root.rglob("*"))):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        seen.append((str(p), st.st_mode, st.st_uid, st.st_gid, st.st_size, digest))
    with open("/proc/self/mountinfo") as f:
        seen += [("mount", line.split()[4]) for line in f if line.split()[4].startswith(str(root))]
    return seen


def crashed(p):
    """hull killed by a signal or dying loudly. (An exit above 1 is the container's own status:
    `run` passes it on, e.g. busybox's 127 when a profile denies arch_prctl.)"""
    return p.returncode < 0 or any(
        word in p.stderr for word in ("terminate called", "Assertion", "Sanitizer", "runtime error:", "core dumped"))


def test_hostile_configs(hull, bundle, tmp_path):
    rng = random.Random(SEED)
    print(f"hostile configs: seed {SEED}, {CASES} cases (HULL_HOSTILE_SEED, HULL_HOSTILE_CASES)")
    sentinel = tmp_path / "host-sentinel"
    sentinel.mkdir()
    (sentinel / "file").write_text("the host's own\n")
    (sentinel / "sub").mkdir()
    b = bundle(["true"])
    (b.rootfs / "evil").symlink_to(sentinel)
    (b.rootfs / "up").symlink_to("../" * 12 + str(sentinel).lstrip("/"))
    base = copy.deepcopy(b.config)
    before = fingerprint(sentinel)
    problems = []
    for n in range(CASES):
        case = generate(rng, base, sentinel)
        (b.path / "config.json").write_bytes(case.body())
        cid = hull.new_id("h")
        raw = subprocess.run([str(hull.hull_oci), "--root", str(hull.root), "run", "--bundle", str(b.path), cid],
                             capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        p = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode(errors="replace"),
                                        raw.stderr.decode(errors="replace"))
        try:
            raw.stderr.decode()
        except UnicodeDecodeError:
            problems.append(f"case {n} ({case.name}): stderr is not UTF-8: {raw.stderr[:300]!r}")
        errors = [line for line in p.stderr.splitlines() if "warning" not in line.lower()]
        what = f"case {n} ({case.name}): exit {p.returncode}: {p.stderr.strip()[:300]!r}"
        if crashed(p):
            problems.append("crash: " + what)
        elif p.returncode == 1:
            if len(errors) != 1:
                problems.append("not one line: " + what)
            elif case.where and case.where not in errors[0] and (
                    case.strict or "invalid configuration" in errors[0]):
                problems.append(f"does not name {case.where}: " + what)
        left = leftovers(hull, tmp_path)
        if left:
            hull.force_cleanup()
            problems.append(f"left behind by {what}: {left}")
        now = fingerprint(sentinel)
        if now != before:
            problems.append(f"host changed by {what}: {set(now) ^ set(before)}")
            before = now
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems)
