// run and start: docker's flags, names and behaviour (`hull run --help`).
#include <cstdio>

#include "cli/friendly.h"
#include "cli/oci.h"
#include "frontend/containers.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {
namespace {

void add_run_flags(CLI::App* run, frontend::RunOptions& o) {
  // -h is --hostname, as in docker; help is --help only.
  run->set_help_flag("--help", "print this help");
  run->add_option("--name", o.name, "a name for the container");
  run->add_option("--pull", o.pull,
                  "pull the image: missing (default: when not in the store), always, never");
  run->add_option("--rootfs", o.rootfs,
                  "a root file system of your own, written to directly (then no IMAGE)");
  run->add_option("--entrypoint", o.entrypoint, "replace the image's entrypoint (\"\" clears it)");
  run->add_flag("-d,--detach", o.detach, "run in the background and print the container id");
  run->add_flag("--rm", o.remove, "remove the container when it exits");
  run->add_flag("-i,--interactive", o.interactive, "keep stdin open");
  run->add_flag("-t,--tty", o.tty, "allocate a terminal");
  add_repeated(run, "-e,--env", o.env,
               "set an environment variable (NAME=VALUE, or NAME from hull's)");
  add_repeated(run, "--env-file", o.env_files, "read environment variables from a file");
  run->add_option("-w,--workdir", o.workdir, "working directory inside the container");
  run->add_option("-u,--user", o.user, "user[:group], by name or number");
  run->add_option("-h,--hostname", o.hostname, "the container's host name");
  add_repeated(run, "-v,--volume", o.volumes, "bind mount HOST:CONTAINER[:ro]");
  add_repeated(run, "--tmpfs", o.tmpfs, "mount a tmpfs: PATH[:OPTIONS]");
  run->add_flag("--read-only", o.read_only, "mount the root file system read-only");
  run->add_option("-m,--memory", o.memory, "memory limit (e.g. 256m)");
  run->add_option("--memory-swap", o.memory_swap, "memory plus swap limit, -1 for unlimited swap");
  run->add_option("--cpus", o.cpus, "CPUs (e.g. 0.5 holds the container at half a CPU)");
  run->add_option("-c,--cpu-shares", o.cpu_shares, "relative CPU weight");
  run->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs to run on (0-3, 0,1)");
  run->add_option("--pids-limit", o.pids_limit, "most processes at once (-1 unlimited)");
  add_repeated(run, "--device-read-bps", o.device_read_bps,
               "limit reads from a device: DEVICE:RATE (1mb)");
  add_repeated(run, "--device-write-bps", o.device_write_bps,
               "limit writes to a device: DEVICE:RATE. Only what the container writes to a "
               "mount on DEVICE slows down: the host sandbox's / is in memory, so write to "
               "-v HOST_DIR:/data with HOST_DIR on DEVICE");
  add_repeated(run, "--device-read-iops", o.device_read_iops,
               "limit read operations: DEVICE:N per second");
  add_repeated(run, "--device-write-iops", o.device_write_iops,
               "limit write operations: DEVICE:N per second");
  run->add_option("--blkio-weight", o.blkio_weight, "relative block I/O weight, 10 to 1000");
  add_repeated(run, "--cap-add", o.cap_add, "add a capability (or ALL)");
  add_repeated(run, "--cap-drop", o.cap_drop, "drop a capability (or ALL)");
  add_repeated(run, "--security-opt", o.security_opts,
               "seccomp=FILE|unconfined, no-new-privileges");
  run->add_flag("--privileged", o.privileged,
                "every capability and device, no seccomp, no masked paths");
  run->add_option("--userns", o.userns,
                  "host (default) or private: root inside is unprivileged outside");
  run->add_flag("--init", o.init,
                "run hull's small init as PID 1 (reaps zombies, forwards signals)");
  add_repeated(run, "--ulimit", o.ulimits, "resource limit: NAME=SOFT[:HARD]");
  add_repeated(run, "--sysctl", o.sysctls, "namespaced kernel parameter: NAME=VALUE");
  add_repeated(run, "--network,--net", o.net.networks,
               "none (default), host, or a hull network (hull network create); repeat for more");
  run->add_option("--ip", o.net.ip, "the address on the first network (default: a free one)");
  add_repeated(run, "--network-alias", o.net.aliases, "another name peers reach it by");
  add_repeated(run, "-p,--publish", o.net.publish,
               "publish a port: [HOST_IP:]HOST_PORT:PORT[/tcp|udp] (host IP default 127.0.0.1)");
  run->add_option("--net-rate", o.net.rate, "shape the network each way, e.g. 10mbit");
  run->add_option("--net-burst", o.net.burst, "token bucket size for --net-rate, e.g. 32k");
  add_repeated(run, "-l,--label", o.labels, "a label: KEY=VALUE (ps --filter label=KEY=VALUE)");
  run->add_option("--cgroup-parent", o.cgroup_parent,
                  "parent cgroup of the container's (default /hull; a NAME.slice with systemd)");
  run->add_option("--cgroup-manager", o.cgroup_manager,
                  "cgroupfs, or systemd (a scope per container); default: systemd where it is "
                  "the init and we are root")
      ->check(CLI::IsMember({"cgroupfs", "systemd"}));
  // Everything from the first word that is not a flag on is IMAGE and the command, flags
  // included (docker's order: hull run [FLAGS] IMAGE [COMMAND [ARG...]]).
  run->add_option("image-and-command", o.command,
                  "IMAGE (an image in the store, or host: the host's root under a throw-away "
                  "overlay), then the command and its arguments (default: the image's); with "
                  "--rootfs, only the command");
  run->positionals_at_end();
}

}  // namespace

void register_run_verbs(CLI::App& app, FriendlyEnv& env) {
  static frontend::RunOptions opts;
  auto* run = app.add_subcommand("run", "run a command in a new container");
  add_run_flags(run, opts);
  env.add_entering(run, [&env] {
    if (!opts.rootfs.empty()) opts.rootfs = absolute_path(opts.rootfs);
    try {
      if (opts.rootfs.empty()) {
        if (opts.command.empty())
          fail(
              "run: give an image (hull images lists them; host is the host's root), or --rootfs "
              "DIR");
        opts.image = opts.command.front();
        opts.command.erase(opts.command.begin());
      }
      auto r = frontend::run(env.env, opts);
      if (opts.detach) std::printf("%s\n", r.id.c_str());
      return r.exit_code;
    } catch (const Error& e) {
      log::error(e.what());
      return frontend::exit_code_for(e);
    }
  });

  static std::vector<std::string> refs;
  auto* start = app.add_subcommand("start", "start stopped containers again (in the background)");
  start->add_option("container", refs, "name or id")->required();
  env.add_entering(start, [&env] {
    int rc = 0;
    for (const auto& r : refs) {
      try {
        frontend::start(env.env, r);
        std::printf("%s\n", r.c_str());
      } catch (const Error& e) {
        log::error(e.what());
        rc = 1;
      }
    }
    return rc;
  });
}

}  // namespace hull::cli
