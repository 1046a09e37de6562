// The values of docker's `run` flags, parsed as docker parses them: "256m", "0.5",
// "nofile=1024:2048",
// "/src:/dst:ro", "/dev/sda:1mb". Each parser throws one line naming the flag and the value.
// Pure functions (no file system), so they are unit-tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/spec.h"

namespace hull::frontend {

// --memory, --memory-swap ("-1" = unlimited when allow_unlimited), --tmpfs size: bytes.
int64_t parse_bytes(const std::string& flag, const std::string& value,
                    bool allow_unlimited = false);

// --cpus 1.5 -> quota 150000 per period 100000.
struct CpuQuota {
  int64_t quota = 0;
  uint64_t period = 100000;
};
CpuQuota parse_cpus(const std::string& value, unsigned host_cpus);

// --cpuset-cpus "0-2,4": checked against the host's CPU count.
std::string parse_cpuset(const std::string& value, unsigned host_cpus);

// Integers with a range check: --cpu-shares, --blkio-weight, --pids-limit, -h, ...
int64_t parse_int(const std::string& flag, const std::string& value, int64_t min, int64_t max);

// --ulimit nofile=1024[:2048], "unlimited" or -1 for no limit.
oci::Rlimit parse_ulimit(const std::string& value);

// -v HOST:CONTAINER[:ro|rw]; HOST must be absolute (named volumes do not exist in hull).
struct Volume {
  std::string source, destination;  // source: an absolute host path, or a volume's name
  bool readonly = false;
  bool named = false;  // -v NAME:/path: a named volume (docker's, created on first use)
};
// docker's rule for a volume's name: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_volume_name(const std::string& name);
Volume parse_volume(const std::string& value);

// --tmpfs /path[:opt,opt]: docker's defaults noexec,nosuid,nodev unless overridden.
struct Tmpfs {
  std::string destination;
  std::vector<std::string> options;
};
Tmpfs parse_tmpfs(const std::string& value);

// --device-read-bps /dev/sda:1mb and the iops forms (a plain count).
struct DeviceRate {
  std::string device;
  uint64_t rate = 0;
};
DeviceRate parse_device_rate(const std::string& flag, const std::string& value, bool iops);

// --cap-add/--cap-drop: "net_admin", "CAP_NET_ADMIN", "ALL" -> "CAP_NET_ADMIN" / "ALL".
std::string normalize_capability(const std::string& flag, const std::string& value);
// docker's default set, then drops, then adds ("ALL" in either as docker orders them).
std::vector<std::string> effective_capabilities(const std::vector<std::string>& add,
                                                const std::vector<std::string>& drop,
                                                bool privileged);

// --security-opt: seccomp=FILE|unconfined, no-new-privileges[=true|false].
struct SecurityOpts {
  std::string seccomp;  // "" = the default profile, "unconfined", or a file
  bool no_new_privileges = false;
};
void apply_security_opt(SecurityOpts& out, const std::string& value);

// -e NAME=VALUE, -e NAME (taken from hull's environment; skipped when unset), --env-file lines.
std::optional<std::string> parse_env(const std::string& flag, const std::string& value);
std::vector<std::string> parse_env_file(const std::string& path, const std::string& text);
// Appends, replacing an earlier entry of the same name.
void set_env(std::vector<std::string>& env, const std::string& entry);

// --sysctl name=value.
std::pair<std::string, std::string> parse_sysctl(const std::string& value);

// -h/--hostname: RFC 1123 (letters, digits, '-', '.'), at most 64 characters.
void check_hostname(const std::string& value);
// --name: docker's [a-zA-Z0-9][a-zA-Z0-9_.-]*.
void check_container_name(const std::string& value);

// -u user[:group] resolved against the container's /etc/passwd and /etc/group texts.
struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/", shell;
};
ResolvedUser resolve_user(const std::string& spec, const std::string& passwd,
                          const std::string& group);

// hull's --net-rate / --net-burst (run, update, network connect/shape): bytes per second
// (0: not given) and the burst in bytes.
uint64_t parse_net_rate(const std::string& rate, const std::string& burst, uint32_t& burst_bytes);

}  // namespace hull::frontend
