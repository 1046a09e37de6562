#include "oci/serialize.h"

#include <nlohmann/json.hpp>

namespace hull::oci {
namespace {

using ojson = nlohmann::ordered_json;

// Field writers that leave out what parse_spec would read back as absent or default.
template <typename T>
void put_opt(ojson& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put_str(ojson& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void put_list(ojson& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}
void put_map(ojson& j, const char* key, const std::map<std::string, std::string>& v) {
  if (!v.empty()) j[key] = v;
}
void put_true(ojson& j, const char* key, bool v) {
  if (v) j[key] = true;
}

ojson id_mappings(const std::vector<IdMapping>& maps) {
  ojson a = ojson::array();
  for (const auto& m : maps)
    a.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return a;
}

ojson process_json(const Process& p) {
  ojson j;
  put_true(j, "terminal", p.terminal);
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  ojson user;
  user["uid"] = p.user.uid;
  user["gid"] = p.user.gid;
  put_opt(user, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
  put_str(user, "username", p.user.username);
  j["user"] = user;
  j["args"] = p.args;
  put_list(j, "env", p.env);
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    ojson caps = ojson::object();
    put_list(caps, "bounding", c.bounding);
    put_list(caps, "effective", c.effective);
    put_list(caps, "inheritable", c.inheritable);
    put_list(caps, "permitted", c.permitted);
    put_list(caps, "ambient", c.ambient);
    j["capabilities"] = caps;
  }
  if (!p.rlimits.empty()) {
    ojson rl = ojson::array();
    for (const auto& r : p.rlimits)
      rl.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    j["rlimits"] = rl;
  }
  put_true(j, "noNewPrivileges", p.no_new_privileges);
  put_str(j, "apparmorProfile", p.apparmor_profile);
  put_opt(j, "oomScoreAdj", p.oom_score_adj);
  if (p.scheduler) {
    const auto& s = *p.scheduler;
    ojson sch;
    sch["policy"] = s.policy;
    if (s.nice) sch["nice"] = s.nice;
    if (s.priority) sch["priority"] = s.priority;
    put_list(sch, "flags", s.flags);
    if (s.runtime) sch["runtime"] = s.runtime;
    if (s.deadline) sch["deadline"] = s.deadline;
    if (s.period) sch["period"] = s.period;
    j["scheduler"] = sch;
  }
  put_str(j, "selinuxLabel", p.selinux_label);
  if (p.io_priority)
    j["ioPriority"] = {{"class", p.io_priority->klass}, {"priority", p.io_priority->priority}};
  if (p.exec_cpu_affinity) {
    ojson a = ojson::object();
    put_str(a, "initial", p.exec_cpu_affinity->initial);
    put_str(a, "final", p.exec_cpu_affinity->final);
    j["execCPUAffinity"] = a;
  }
  return j;
}

ojson hook_list(const std::vector<Hook>& hooks) {
  ojson a = ojson::array();
  for (const auto& h : hooks) {
    ojson j;
    j["path"] = h.path;
    put_list(j, "args", h.args);
    if (h.env_given) j["env"] = h.env;
    put_opt(j, "timeout", h.timeout);
    a.push_back(j);
  }
  return a;
}

ojson throttle_list(const std::vector<ThrottleDevice>& devices) {
  ojson a = ojson::array();
  for (const auto& d : devices)
    a.push_back({{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}});
  return a;
}

ojson resources_json(const Resources& r) {
  ojson j = ojson::object();
  if (!r.devices.empty()) {
    ojson devs = ojson::array();
    for (const auto& d : r.devices) {
      ojson e;
      e["allow"] = d.allow;
      put_str(e, "type", d.type);
      put_opt(e, "major", d.major);
      put_opt(e, "minor", d.minor);
      put_str(e, "access", d.access);
      devs.push_back(e);
    }
    j["devices"] = devs;
  }
  if (r.memory) {
    const auto& m = *r.memory;
    ojson mem = ojson::object();
    put_opt(mem, "limit", m.limit);
    put_opt(mem, "reservation", m.reservation);
    put_opt(mem, "swap", m.swap);
    put_opt(mem, "kernel", m.kernel);
    put_opt(mem, "kernelTCP", m.kernel_tcp);
    put_opt(mem, "swappiness", m.swappiness);
    put_opt(mem, "disableOOMKiller", m.disable_oom_killer);
    put_opt(mem, "useHierarchy", m.use_hierarchy);
    put_opt(mem, "checkBeforeUpdate", m.check_before_update);
    j["memory"] = mem;
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    ojson cpu = ojson::object();
    put_opt(cpu, "shares", c.shares);
    put_opt(cpu, "quota", c.quota);
    put_opt(cpu, "burst", c.burst);
    put_opt(cpu, "period", c.period);
    put_opt(cpu, "realtimeRuntime", c.realtime_runtime);
    put_opt(cpu, "realtimePeriod", c.realtime_period);
    put_str(cpu, "cpus", c.cpus);
    put_str(cpu, "mems", c.mems);
    put_opt(cpu, "idle", c.idle);
    j["cpu"] = cpu;
  }
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) {
    const auto& b = *r.block_io;
    ojson bio = ojson::object();
    put_opt(bio, "weight", b.weight);
    put_opt(bio, "leafWeight", b.leaf_weight);
    if (!b.weight_device.empty()) {
      ojson wd = ojson::array();
      for (const auto& d : b.weight_device) {
        ojson e = {{"major", d.major}, {"minor", d.minor}};
        put_opt(e, "weight", d.weight);
        put_opt(e, "leafWeight", d.leaf_weight);
        wd.push_back(e);
      }
      bio["weightDevice"] = wd;
    }
    if (!b.throttle_read_bps.empty())
      bio["throttleReadBpsDevice"] = throttle_list(b.throttle_read_bps);
    if (!b.throttle_write_bps.empty())
      bio["throttleWriteBpsDevice"] = throttle_list(b.throttle_write_bps);
    if (!b.throttle_read_iops.empty())
      bio["throttleReadIOPSDevice"] = throttle_list(b.throttle_read_iops);
    if (!b.throttle_write_iops.empty())
      bio["throttleWriteIOPSDevice"] = throttle_list(b.throttle_write_iops);
    j["blockIO"] = bio;
  }
  if (!r.hugepage_limits.empty()) {
    ojson hp = ojson::array();
    for (const auto& h : r.hugepage_limits)
      hp.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = hp;
  }
  if (r.network) {
    ojson net = ojson::object();
    put_opt(net, "classID", r.network->class_id);
    if (!r.network->priorities.empty()) {
      ojson pr = ojson::array();
      for (const auto& p : r.network->priorities)
        pr.push_back({{"name", p.name}, {"priority", p.priority}});
      net["priorities"] = pr;
    }
    j["network"] = net;
  }
  if (!r.rdma.empty()) {
    ojson rdma = ojson::object();
    for (const auto& [name, l] : r.rdma) {
      ojson e = ojson::object();
      put_opt(e, "hcaHandles", l.hca_handles);
      put_opt(e, "hcaObjects", l.hca_objects);
      rdma[name] = e;
    }
    j["rdma"] = rdma;
  }
  put_map(j, "unified", r.unified);
  return j;
}

ojson seccomp_json(const Seccomp& s) {
  ojson j;
  j["defaultAction"] = s.default_action;
  put_opt(j, "defaultErrnoRet", s.default_errno_ret);
  put_list(j, "architectures", s.architectures);
  put_list(j, "flags", s.flags);
  put_str(j, "listenerPath", s.listener_path);
  put_str(j, "listenerMetadata", s.listener_metadata);
  if (!s.syscalls.empty()) {
    ojson calls = ojson::array();
    for (const auto& c : s.syscalls) {
      ojson e;
      e["names"] = c.names;
      e["action"] = c.action;
      put_opt(e, "errnoRet", c.errno_ret);
      if (!c.args.empty()) {
        ojson args = ojson::array();
        for (const auto& a : c.args) {
          ojson arg = {{"index", a.index}, {"value", a.value}};
          if (a.value_two) arg["valueTwo"] = a.value_two;
          arg["op"] = a.op;
          args.push_back(arg);
        }
        e["args"] = args;
      }
      calls.push_back(e);
    }
    j["syscalls"] = calls;
  }
  return j;
}

ojson linux_json(const Linux& l) {
  ojson j = ojson::object();
  if (!l.namespaces.empty()) {
    ojson ns = ojson::array();
    for (const auto& n : l.namespaces) {
      ojson e = {{"type", namespace_type_name(n.type)}};
      put_str(e, "path", n.path);
      ns.push_back(e);
    }
    j["namespaces"] = ns;
  }
  if (!l.uid_mappings.empty()) j["uidMappings"] = id_mappings(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = id_mappings(l.gid_mappings);
  if (!l.time_offsets.empty()) {
    ojson to = ojson::object();
    for (const auto& [clock, off] : l.time_offsets)
      to[clock] = {{"secs", off.secs}, {"nanosecs", off.nanosecs}};
    j["timeOffsets"] = to;
  }
  if (!l.devices.empty()) {
    ojson devs = ojson::array();
    for (const auto& d : l.devices) {
      ojson e;
      e["type"] = std::string(1, d.type);
      e["path"] = d.path;
      e["major"] = d.major;
      e["minor"] = d.minor;
      put_opt(e, "fileMode", d.file_mode);
      put_opt(e, "uid", d.uid);
      put_opt(e, "gid", d.gid);
      devs.push_back(e);
    }
    j["devices"] = devs;
  }
  put_str(j, "cgroupsPath", l.cgroups_path);
  if (l.resources) j["resources"] = resources_json(*l.resources);
  put_str(j, "rootfsPropagation", l.rootfs_propagation);
  if (l.seccomp) j["seccomp"] = seccomp_json(*l.seccomp);
  put_map(j, "sysctl", l.sysctl);
  put_list(j, "maskedPaths", l.masked_paths);
  put_list(j, "readonlyPaths", l.readonly_paths);
  put_str(j, "mountLabel", l.mount_label);
  if (l.intel_rdt) {
    const auto& r = *l.intel_rdt;
    ojson rdt = ojson::object();
    put_str(rdt, "closID", r.clos_id);
    put_str(rdt, "l3CacheSchema", r.l3_cache_schema);
    put_str(rdt, "memBwSchema", r.mem_bw_schema);
    put_list(rdt, "schemata", r.schemata);
    put_true(rdt, "enableMonitoring", r.enable_monitoring);
    j["intelRdt"] = rdt;
  }
  if (l.personality) {
    ojson p = {{"domain", l.personality->domain}};
    put_list(p, "flags", l.personality->flags);
    j["personality"] = p;
  }
  if (!l.net_devices.empty()) {
    ojson nd = ojson::object();
    for (const auto& [host, dev] : l.net_devices) {
      ojson e = ojson::object();
      put_str(e, "name", dev.name);
      nd[host] = e;
    }
    j["netDevices"] = nd;
  }
  return j;
}

std::string dump(const ojson& j, int indent) {
  return indent < 0 ? j.dump() : j.dump(indent) + "\n";
}

}  // namespace

std::string serialize_spec(const Spec& s, int indent) {
  ojson j;
  j["ociVersion"] = s.oci_version;
  if (s.process) j["process"] = process_json(*s.process);
  ojson root = {{"path", s.root.path}};
  put_true(root, "readonly", s.root.readonly);
  j["root"] = root;
  put_str(j, "hostname", s.hostname);
  put_str(j, "domainname", s.domainname);
  if (!s.mounts.empty()) {
    ojson mounts = ojson::array();
    for (const auto& m : s.mounts) {
      ojson e = {{"destination", m.destination}};
      put_str(e, "type", m.type);
      put_str(e, "source", m.source);
      put_list(e, "options", m.options);
      if (!m.uid_mappings.empty()) e["uidMappings"] = id_mappings(m.uid_mappings);
      if (!m.gid_mappings.empty()) e["gidMappings"] = id_mappings(m.gid_mappings);
      mounts.push_back(e);
    }
    j["mounts"] = mounts;
  }
  const Hooks& h = s.hooks;
  ojson hooks = ojson::object();
  auto put_hooks = [&](const char* key, const std::vector<Hook>& list) {
    if (!list.empty()) hooks[key] = hook_list(list);
  };
  put_hooks("prestart", h.prestart);
  put_hooks("createRuntime", h.create_runtime);
  put_hooks("createContainer", h.create_container);
  put_hooks("startContainer", h.start_container);
  put_hooks("poststart", h.poststart);
  put_hooks("poststop", h.poststop);
  if (!hooks.empty()) j["hooks"] = hooks;
  put_map(j, "annotations", s.annotations);
  j["linux"] = linux_json(s.linux);
  return dump(j, indent);
}

std::string serialize_process(const Process& p, int indent) {
  return dump(process_json(p), indent);
}

std::string serialize_resources(const Resources& r, int indent) {
  return dump(resources_json(r), indent);
}

std::string serialize_seccomp(const Seccomp& seccomp, int indent) {
  return dump(seccomp_json(seccomp), indent);
}

}  // namespace hull::oci
