// `hull run`'s flags -> oci::Spec: what docker would ask runc for, built in memory. Every flag is
// checked here, before anything exists, and a bad one fails with one line naming it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frontend/run_network.h"
#include "image/config.h"
#include "oci/spec.h"
#include "util/id_range.h"

namespace hull::frontend {

struct RunOptions {
  std::string name;
  std::string rootfs;  // --rootfs DIR: written to directly
  // The first argument when there is no --rootfs: an image in the store, or "host" (the
  // host's root, read-only, under a throw-away overlay).
  std::string image = "host";
  std::string pull = "missing";           // --pull: missing, always, never
  std::optional<std::string> entrypoint;  // --entrypoint ("" clears the image's)
  bool detach = false, remove = false, interactive = false, tty = false;
  std::vector<std::string> env, env_files;
  std::string workdir, user, hostname;
  std::vector<std::string> volumes, tmpfs;
  bool read_only = false;
  std::string memory, memory_swap, cpus, cpu_shares, cpuset_cpus, pids_limit, blkio_weight;
  std::vector<std::string> device_read_bps, device_write_bps, device_read_iops, device_write_iops;
  std::vector<std::string> cap_add, cap_drop, security_opts;
  std::vector<std::string> labels;  // --label KEY[=VALUE]
  bool privileged = false;
  std::string userns = "host";
  bool init = false;
  std::vector<std::string> ulimits, sysctls;
  NetworkOptions net;  // --network (none when not given), --ip, -p, ...
  std::string cgroup_parent;
  // cgroupfs or systemd; "" chooses (podman's rule): systemd when it is this host's init, we
  // are root and the parent is the default or a slice.
  std::string cgroup_manager;
  std::vector<std::string> command;
};

// An image's root: its layers under an overlay whose writable layer is the container's own.
struct ImageRoot {
  std::vector<std::string> lowers;  // layer dirs, top first
  std::string layer_dir;            // holds upper/ and work/ (root.path)
  image::ImageConfig config;
  // Anonymous volumes for the config's Volumes: destination -> a directory of the container's.
  std::vector<std::pair<std::string, std::string>> volumes;
};

// --userns private: the host uid and gid of the container's root (what it owns on the host:
// its writable layer, its volumes); nullopt without a user namespace.
std::optional<std::pair<uint32_t, uint32_t>> private_root(const RunOptions& o);

// What the spec refers to outside itself, provided by the friendly store.
struct ContainerFiles {
  std::string id;
  std::string hostname_file;  // bound on /etc/hostname
  std::string hosts_file;     // bound on /etc/hosts
  std::string resolv_file;    // bound on /etc/resolv.conf on hull networks
};

struct BuiltSpec {
  oci::Spec spec;
  std::string hostname;
  std::string hosts;  // the content of hosts_file
  // What the flags ask for that will not do what it seems to (a --device-* limit on a device
  // the container does not use): the command prints each once on stderr.
  std::vector<std::string> warnings;
};

// Checks every flag and builds the spec; throws on the first bad one.
// `image` is null for the host sandbox and --rootfs.
BuiltSpec build_run_spec(const RunOptions& options, const ContainerFiles& files,
                         const ImageRoot* image = nullptr);

// `hull update`'s flags (docker's): each one given changes that limit of a running container.
struct UpdateOptions {
  std::string memory, memory_swap, memory_reservation;
  std::string cpus, cpu_shares, cpu_quota, cpu_period, cpuset_cpus, cpuset_mems;
  std::string pids_limit, blkio_weight;
  std::string net_rate, net_burst;  // not resources: the container's network shaping
  bool any_resource() const {
    return !(memory + memory_swap + memory_reservation + cpus + cpu_shares + cpu_quota +
             cpu_period + cpuset_cpus + cpuset_mems + pids_limit + blkio_weight)
                .empty();
  }
};
// The linux.resources fields the flags set, nothing else; throws when no flag was given.
oci::Resources update_resources(const UpdateOptions& options);

// The uid/gid range a private user namespace maps container 0..65535 onto: the start of
// root's range in /etc/subuid or /etc/subgid (their text) when it has 65536 ids, else 100000.
IdRange userns_range(const std::string& subid_text);

}  // namespace hull::frontend
