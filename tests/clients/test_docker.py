"""docker (dockerd on the tests' containerd) with hull registered and the default runtime:
run on docker's default bridge (its network comes from a prestart hook), exec, pause, top,
update. dockerd lives in a network namespace of its own: the bridge reaches nothing else."""
from pathlib import Path

from engines import IMAGE


def inspect(docker, name, fmt):
    return docker("inspect", "--format", fmt, name).stdout.strip()


def test_run_on_the_default_bridge(docker):
    server = "pinged"
    docker("run", "--detach", "--name", server, IMAGE, "sleep", "1000")
    ip = inspect(docker, server, "{{.NetworkSettings.IPAddress}}")
    assert ip.startswith("10.213.7.")
    # The address docker gave it, seen from inside: the prestart hook configured eth0.
    assert f"inet {ip}/24" in docker("exec", server, "ip", "-4", "addr", "show", "eth0").stdout
    # Another container on the bridge reaches it.
    p = docker("run", "--rm", IMAGE, "ping", "-c", "1", "-W", "5", ip, check=False)
    assert p.returncode == 0 and "1 packets received" in p.stdout, p.stdout + p.stderr
    assert inspect(docker, server, "{{.HostConfig.Runtime}}") == "hull"
    docker("rm", "--force", server)


def test_exit_code(docker):
    assert docker("run", "--rm", IMAGE, "sh", "-c", "exit 9", check=False).returncode == 9


def test_exec_pause_top_update(docker):
    name = "busy"
    docker("run", "--detach", "--name", name, "--memory", "100m", "--memory-swap", "100m", IMAGE, "sleep", "1000")
    assert docker("exec", name, "sh", "-c", "exit 3", check=False).returncode == 3
    out = docker("exec", "-e", "X=y", "-w", "/tmp", "-u", "1000", name, "sh", "-c", 'echo "$X $(pwd) $(id -u)"').stdout
    assert out == "y /tmp 1000\n"
    p = docker("exec", "-t", name, "sh", "-c", "tty; test -t 0 && echo tty-ok", tty=True)
    assert "tty-ok" in p.stdout
    # top: containerd asks hull for the container's processes (`ps`)
    assert "sleep 1000" in docker("top", name).stdout
    docker("pause", name)
    assert inspect(docker, name, "{{.State.Paused}}") == "true"
    docker("unpause", name)
    assert inspect(docker, name, "{{.State.Paused}}") == "false"
    cid = inspect(docker, name, "{{.Id}}")
    limit = Path(f"/sys/fs/cgroup/memory/docker/{cid}/memory.limit_in_bytes")
    assert int(limit.read_text()) == 100 * 1024 * 1024
    docker("update", "--memory", "64m", "--memory-swap", "64m", name)
    assert int(limit.read_text()) == 64 * 1024 * 1024
    docker("rm", "--force", name)
