#include "oci/parse.h"

#include <algorithm>
#include <set>

#include "oci/json_reader.h"
#include "oci/names.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::oci {
namespace {

// Every error of the spec's parser and checks is the config's: kind invalid_config. This
// fail() hides hull::fail in this file.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  fail_as(ErrorKind::invalid_config, format, std::forward<Args>(args)...);
}

// Where in the document a parse error struck ("process.user.uid"): a second, slow parse
// that follows the keys and indices, done only once the fast one has failed.
std::string error_location(std::string_view text) {
  struct Frame {
    bool array;
    size_t index;
    std::string key;
  };
  std::vector<Frame> frames;
  auto step = [&] {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        frames.push_back({false, 0, ""});
        break;
      case json::parse_event_t::array_start:
        frames.push_back({true, 0, ""});
        break;
      case json::parse_event_t::key:
        frames.back().key = parsed.get<std::string>();
        break;
      case json::parse_event_t::value:
        step();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        step();
        break;
    }
    return true;  // a discarded container would hide its values and its end from us
  };
  try {
    [[maybe_unused]] json walked = json::parse(text, cb);
  } catch (const json::exception&) {
  }
  std::string path;
  for (const auto& f : frames) {
    if (f.array)
      path += fmt::format("[{}]", f.index);
    else if (!f.key.empty())
      path += (path.empty() ? "" : ".") + f.key;
  }
  return path;
}

// Nesting deeper than any real document: nlohmann's parser is iterative, but dumping or
// copying a value recurses, so a config of 100000 nested arrays would overflow the stack
// wherever hull echoes or stores a part of it. Refused before parsing.
constexpr size_t kMaxDepth = 128;

// The offset of the bracket that nests past kMaxDepth, or npos. Strings are skipped.
size_t too_deep_at(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

json parse_text(std::string_view text, std::string_view what) {
  if (size_t at = too_deep_at(text); at != std::string_view::npos) {
    std::string where = error_location(text.substr(0, at));
    if (where.size() > 60) where = where.substr(0, 60) + "...";
    fail("{}: invalid JSON at {}: nested more than {} levels deep", what, where, kMaxDepth);
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...";
    // out_of_range.406 ("number overflow parsing '1e309'") is one too.
    std::string msg = e.what();
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    std::string where = error_location(text);
    if (!where.empty()) fail("{}: invalid JSON at {}: {}", what, where, msg);
    fail("{}: invalid JSON: {}", what, msg);
  }
}

// The document itself must be an object: "config.json: expected an object, got null".
void expect_document_object(const json& j, std::string_view what) {
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", what, j.type_name());
}

std::vector<IdMapping> parse_id_mappings(const Node& n) {
  std::vector<IdMapping> out;
  for (size_t i = 0; i < n.size(); ++i) {
    Node m = n.at(i);
    m.expect_object();
    IdMapping map;
    auto c = m["containerID"].opt_int<uint32_t>();
    auto h = m["hostID"].opt_int<uint32_t>();
    auto s = m["size"].opt_int<uint32_t>();
    if (!c) m["containerID"].error("required");
    if (!h) m["hostID"].error("required");
    if (!s) m["size"].error("required");
    if (*s == 0) m["size"].error("must be greater than 0");
    map.container_id = *c;
    map.host_id = *h;
    map.size = *s;
    out.push_back(map);
  }
  return out;
}

constexpr size_t kMaxGroups = 65536;

[[noreturn]] void bad_cpu_list(const Node& n, const std::string& list, std::string_view why) {
  n.error(fmt::format("{} is not a cpu list: {}", quote(list), why));
}

// A cpu list as the kernel writes them ("0-3,6"), each cpu below CPU_SETSIZE.
void check_cpu_list(const Node& n, const std::string& list) {
  if (list.empty()) return;
  for (const auto& part : split(list, ',')) {
    auto dash = part.find('-');
    auto lo = parse_u64(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : parse_u64(part.substr(dash + 1));
    if (!lo || !hi)
      bad_cpu_list(n, list, fmt::format("{} is not a cpu or a range of cpus", quote(part)));
    if (*lo > *hi) bad_cpu_list(n, list, fmt::format("range {} runs backwards", quote(part)));
    if (*hi >= 1024) bad_cpu_list(n, list, fmt::format("cpu {} is above 1023", *hi));
  }
}

// Host and domain names go to sethostname(2) verbatim: a control character (a newline in
// /etc/hostname, in a shell prompt) or more than the kernel's 64 bytes is a mistake.
std::string parse_host_name(const Node& n) {
  std::string v = n.string_or("");
  if (v.size() > 64) n.error(fmt::format("{} is longer than 64 bytes", quote(v)));
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      n.error(fmt::format("{} contains a control character", quote(v)));
  return v;
}

// A negative device number reads as the wildcard "*" in a cgroup rule (c *:1 rwm would
// allow /dev/mem); it is never a device.
int64_t device_number(const Node& n) {
  int64_t v = n.int_or<int64_t>(0);
  if (v < 0) n.error(fmt::format("{} is negative", v));
  return v;
}

std::optional<int64_t> opt_device_number(const Node& n) {
  if (!n.present()) return std::nullopt;
  return device_number(n);
}

User parse_user(const Node& n) {
  User u;
  if (!n.present()) return u;
  n.expect_object();
  u.uid = n["uid"].int_or<uint32_t>(0);
  u.gid = n["gid"].int_or<uint32_t>(0);
  u.umask = n["umask"].opt_int<uint32_t>();
  Node g = n["additionalGids"];
  // setgroups(2) takes at most NGROUPS_MAX (65536) groups; more fails with EINVAL far later.
  if (g.size() > kMaxGroups)
    g.error(fmt::format("{} groups; the kernel takes at most {}", g.size(), kMaxGroups));
  for (size_t i = 0; i < g.size(); ++i) u.additional_gids.push_back(*g.at(i).opt_int<uint32_t>());
  u.username = n["username"].string_or("");
  return u;
}

std::vector<Rlimit> parse_rlimits(const Node& n) {
  std::vector<Rlimit> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    Node r = n.at(i);
    r.expect_object();
    Rlimit rl;
    rl.type = r["type"].string_or("");
    if (!is_rlimit_name(rl.type)) r["type"].error(fmt::format("unknown rlimit {}", quote(rl.type)));
    if (!seen.insert(rl.type).second) r["type"].error(fmt::format("duplicate rlimit {}", quote(rl.type)));
    rl.soft = r["soft"].int_or<uint64_t>(0);
    rl.hard = r["hard"].int_or<uint64_t>(0);
    if (rl.soft > rl.hard)
      r["soft"].error(fmt::format("soft limit {} is above the hard limit {}", rl.soft, rl.hard));
    out.push_back(rl);
  }
  return out;
}

// runtime-spec 1.1+: an unknown capability "MUST be logged as a warning by the runtime" and
// "SHOULD NOT fail" — a config written for a newer kernel still runs here, without it.
std::vector<std::string> parse_cap_list(const Node& n) {
  auto list = n.string_list();
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string name = to_upper(list[i]);
    if (name.rfind("CAP_", 0) != 0) name = "CAP_" + name;
    if (!is_capability_name(name)) {
      log::warn("{}: unknown capability {}: skipped", n.at(i).path(), quote(list[i]));
      continue;
    }
    out.push_back(name);
  }
  return out;
}

Process parse_process_node(const Node& n) {
  n.expect_object();
  Process p;
  p.terminal = n["terminal"].bool_or(false);
  if (Node cs = n["consoleSize"]; cs.present()) {
    cs.expect_object();
    p.console_size = ConsoleSize{cs["height"].int_or<uint32_t>(0), cs["width"].int_or<uint32_t>(0)};
  }
  p.user = parse_user(n["user"]);
  p.args = n["args"].string_list();
  p.env = n["env"].string_list();
  p.cwd = n["cwd"].string_or("");
  if (Node c = n["capabilities"]; c.present()) {
    c.expect_object();
    Capabilities caps;
    caps.bounding = parse_cap_list(c["bounding"]);
    caps.effective = parse_cap_list(c["effective"]);
    caps.inheritable = parse_cap_list(c["inheritable"]);
    caps.permitted = parse_cap_list(c["permitted"]);
    caps.ambient = parse_cap_list(c["ambient"]);
    p.capabilities = std::move(caps);
  }
  p.rlimits = parse_rlimits(n["rlimits"]);
  p.no_new_privileges = n["noNewPrivileges"].bool_or(false);
  p.apparmor_profile = n["apparmorProfile"].string_or("");
  if (auto v = n["oomScoreAdj"].opt_int<int>()) {
    if (*v < -1000 || *v > 1000) n["oomScoreAdj"].error(fmt::format("{} is outside -1000..1000", *v));
    p.oom_score_adj = v;
  }
  if (Node s = n["scheduler"]; s.present()) {
    s.expect_object();
    Scheduler sch;
    sch.policy = s["policy"].string_or("");
    if (!is_sched_policy(sch.policy))
      s["policy"].error(fmt::format("unknown scheduler policy {}", quote(sch.policy)));
    sch.nice = s["nice"].int_or<int32_t>(0);
    if (sch.nice < -20 || sch.nice > 19) s["nice"].error(fmt::format("{} is outside -20..19", sch.nice));
    sch.priority = s["priority"].int_or<int32_t>(0);
    // sched_setattr(2): 1..99 for the real-time policies, 0 for the others.
    bool realtime = sch.policy == "SCHED_FIFO" || sch.policy == "SCHED_RR";
    if (realtime && (sch.priority < 1 || sch.priority > 99))
      s["priority"].error(fmt::format("{} is outside 1..99 for {}", sch.priority, sch.policy));
    if (!realtime && sch.priority != 0)
      s["priority"].error(fmt::format("{} must be 0 for {}", sch.priority, sch.policy));
    sch.flags = s["flags"].string_list();
    for (size_t i = 0; i < sch.flags.size(); ++i)
      if (!is_sched_flag(sch.flags[i]))
        s["flags"].at(i).error(fmt::format("unknown scheduler flag {}", quote(sch.flags[i])));
    sch.runtime = s["runtime"].int_or<uint64_t>(0);
    sch.deadline = s["deadline"].int_or<uint64_t>(0);
    sch.period = s["period"].int_or<uint64_t>(0);
    p.scheduler = std::move(sch);
  }
  p.selinux_label = n["selinuxLabel"].string_or("");
  if (Node io = n["ioPriority"]; io.present()) {
    io.expect_object();
    IoPriority prio;
    prio.klass = io["class"].string_or("");
    if (prio.klass != "IOPRIO_CLASS_RT" && prio.klass != "IOPRIO_CLASS_BE" &&
        prio.klass != "IOPRIO_CLASS_IDLE")
      io["class"].error(fmt::format("unknown I/O priority class {}", quote(prio.klass)));
    prio.priority = io["priority"].int_or<int32_t>(0);
    if (prio.priority < 0 || prio.priority > 7)
      io["priority"].error(fmt::format("{} is outside 0..7", prio.priority));
    p.io_priority = prio;
  }
  if (Node a = n["execCPUAffinity"]; a.present()) {
    a.expect_object();
    p.exec_cpu_affinity = ExecCpuAffinity{a["initial"].string_or(""), a["final"].string_or("")};
    check_cpu_list(a["initial"], p.exec_cpu_affinity->initial);
    check_cpu_list(a["final"], p.exec_cpu_affinity->final);
  }
  return p;
}

std::vector<Hook> parse_hook_list(const Node& n) {
  std::vector<Hook> out;
  for (size_t i = 0; i < n.size(); ++i) {
    Node h = n.at(i);
    h.expect_object();
    Hook hook;
    hook.path = h["path"].string_or("");
    if (hook.path.empty()) h["path"].error("required");
    if (hook.path.front() != '/') h["path"].error(fmt::format("{} is not an absolute path", quote(hook.path)));
    hook.args = h["args"].string_list();
    hook.env = h["env"].string_list();
    hook.env_given = h["env"].present();
    if (auto t = h["timeout"].opt_int<int>()) {
      if (*t <= 0) h["timeout"].error(fmt::format("{} must be greater than zero", *t));
      hook.timeout = t;
    }
    out.push_back(std::move(hook));
  }
  return out;
}

template <typename T>
std::optional<T> opt(const Node& n, const char* key) {
  return n[key].opt_int<T>();
}

void parse_throttle(const Node& n, std::vector<ThrottleDevice>& out) {
  for (size_t i = 0; i < n.size(); ++i) {
    Node d = n.at(i);
    d.expect_object();
    ThrottleDevice t;
    t.major = device_number(d["major"]);
    t.minor = device_number(d["minor"]);
    t.rate = d["rate"].int_or<uint64_t>(0);
    out.push_back(t);
  }
}

Resources parse_resources_node(const Node& n) {
  Resources r;
  n.expect_object();
  Node devs = n["devices"];
  for (size_t i = 0; i < devs.size(); ++i) {
    Node d = devs.at(i);
    d.expect_object();
    DeviceRule rule;
    auto allow = d["allow"].opt_bool();
    if (!allow) d["allow"].error("required");
    rule.allow = *allow;
    rule.type = d["type"].string_or("a");
    if (rule.type.empty()) rule.type = "a";
    if (rule.type != "a" && rule.type != "c" && rule.type != "b")
      d["type"].error(fmt::format("unknown device type {} (want a, b or c)", quote(rule.type)));
    rule.major = opt_device_number(d["major"]);
    rule.minor = opt_device_number(d["minor"]);
    rule.access = d["access"].string_or("rwm");
    if (rule.access.empty()) rule.access = "rwm";
    if (rule.access.find_first_not_of("rwm") != std::string::npos) {
      // runc takes what it knows of the string: letters outside rwm are warned about and
      // dropped. With none left, a deny still denies everything it names (the safe reading)
      // and an allow grants nothing, so it goes.
      std::string known;
      for (char c : rule.access)
        if ((c == 'r' || c == 'w' || c == 'm') && known.find(c) == std::string::npos) known += c;
      log::warn("{}: {}: only r, w and m mean something: using {}", d["access"].path(),
                quote(rule.access),
                known.empty() ? (rule.allow ? "nothing (rule skipped)" : "\"rwm\"") : quote(known));
      if (known.empty() && rule.allow) continue;
      rule.access = known.empty() ? "rwm" : known;
    }
    r.devices.push_back(rule);
  }
  if (Node m = n["memory"]; m.present()) {
    m.expect_object();
    MemoryResources mem;
    mem.limit = opt<int64_t>(m, "limit");
    mem.reservation = opt<int64_t>(m, "reservation");
    mem.swap = opt<int64_t>(m, "swap");
    mem.kernel = opt<int64_t>(m, "kernel");
    mem.kernel_tcp = opt<int64_t>(m, "kernelTCP");
    mem.swappiness = opt<uint64_t>(m, "swappiness");
    if (mem.swappiness && *mem.swappiness > 100 && *mem.swappiness != UINT64_MAX)
      m["swappiness"].error(fmt::format("{} is outside 0..100", *mem.swappiness));
    mem.disable_oom_killer = m["disableOOMKiller"].opt_bool();
    mem.use_hierarchy = m["useHierarchy"].opt_bool();
    mem.check_before_update = m["checkBeforeUpdate"].opt_bool();
    r.memory = mem;
  }
  if (Node c = n["cpu"]; c.present()) {
    c.expect_object();
    CpuResources cpu;
    cpu.shares = opt<uint64_t>(c, "shares");
    cpu.quota = opt<int64_t>(c, "quota");
    cpu.burst = opt<uint64_t>(c, "burst");
    cpu.period = opt<uint64_t>(c, "period");
    cpu.realtime_runtime = opt<int64_t>(c, "realtimeRuntime");
    cpu.realtime_period = opt<uint64_t>(c, "realtimePeriod");
    cpu.cpus = c["cpus"].string_or("");
    cpu.mems = c["mems"].string_or("");
    cpu.idle = opt<int64_t>(c, "idle");
    if (cpu.idle && *cpu.idle != 0 && *cpu.idle != 1)
      c["idle"].error(fmt::format("{} is not 0 or 1", *cpu.idle));
    r.cpu = cpu;
  }
  if (Node p = n["pids"]; p.present()) {
    p.expect_object();
    r.pids_limit = p["limit"].opt_int<int64_t>();
  }
  if (Node b = n["blockIO"]; b.present()) {
    b.expect_object();
    BlockIoResources bio;
    bio.weight = opt<uint16_t>(b, "weight");
    bio.leaf_weight = opt<uint16_t>(b, "leafWeight");
    Node wd = b["weightDevice"];
    for (size_t i = 0; i < wd.size(); ++i) {
      Node d = wd.at(i);
      d.expect_object();
      WeightDevice w;
      w.major = device_number(d["major"]);
      w.minor = device_number(d["minor"]);
      w.weight = opt<uint16_t>(d, "weight");
      w.leaf_weight = opt<uint16_t>(d, "leafWeight");
      bio.weight_device.push_back(w);
    }
    parse_throttle(b["throttleReadBpsDevice"], bio.throttle_read_bps);
    parse_throttle(b["throttleWriteBpsDevice"], bio.throttle_write_bps);
    parse_throttle(b["throttleReadIOPSDevice"], bio.throttle_read_iops);
    parse_throttle(b["throttleWriteIOPSDevice"], bio.throttle_write_iops);
    r.block_io = std::move(bio);
  }
  Node hp = n["hugepageLimits"];
  for (size_t i = 0; i < hp.size(); ++i) {
    Node h = hp.at(i);
    h.expect_object();
    HugepageLimit l;
    l.page_size = h["pageSize"].string_or("");
    if (l.page_size.empty()) h["pageSize"].error("required");
    l.limit = h["limit"].int_or<uint64_t>(0);
    r.hugepage_limits.push_back(l);
  }
  if (Node net = n["network"]; net.present()) {
    net.expect_object();
    NetworkResources nr;
    nr.class_id = opt<uint32_t>(net, "classID");
    Node pr = net["priorities"];
    for (size_t i = 0; i < pr.size(); ++i) {
      Node p = pr.at(i);
      p.expect_object();
      nr.priorities.push_back({p["name"].string_or(""), p["priority"].int_or<uint32_t>(0)});
    }
    r.network = std::move(nr);
  }
  Node rdma = n["rdma"];
  for (const auto& key : rdma.keys()) {
    Node d = rdma[key.c_str()];
    d.expect_object();
    r.rdma[key] = RdmaLimit{opt<uint32_t>(d, "hcaHandles"), opt<uint32_t>(d, "hcaObjects")};
  }
  r.unified = n["unified"].string_map();
  return r;
}

Seccomp parse_seccomp(const Node& n) {
  n.expect_object();
  Seccomp s;
  s.default_action = n["defaultAction"].string_or("");
  if (!is_seccomp_action(s.default_action))
    n["defaultAction"].error(fmt::format("unknown seccomp action {}", quote(s.default_action)));
  s.default_errno_ret = opt<uint32_t>(n, "defaultErrnoRet");
  s.architectures = n["architectures"].string_list();
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (!is_seccomp_arch(s.architectures[i]))
      n["architectures"].at(i).error(fmt::format("unknown architecture {}", quote(s.architectures[i])));
  s.flags = n["flags"].string_list();
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!is_seccomp_flag(s.flags[i]))
      n["flags"].at(i).error(fmt::format("unknown seccomp flag {}", quote(s.flags[i])));
  s.listener_path = n["listenerPath"].string_or("");
  s.listener_metadata = n["listenerMetadata"].string_or("");
  Node calls = n["syscalls"];
  for (size_t i = 0; i < calls.size(); ++i) {
    Node c = calls.at(i);
    c.expect_object();
    SeccompSyscall sc;
    sc.names = c["names"].string_list();
    if (sc.names.empty()) c["names"].error("at least one syscall name is required");
    sc.action = c["action"].string_or("");
    if (!is_seccomp_action(sc.action))
      c["action"].error(fmt::format("unknown seccomp action {}", quote(sc.action)));
    if (sc.action == "SCMP_ACT_NOTIFY" && s.listener_path.empty())
      c["action"].error("SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
    sc.errno_ret = opt<uint32_t>(c, "errnoRet");
    Node args = c["args"];
    for (size_t k = 0; k < args.size(); ++k) {
      Node a = args.at(k);
      a.expect_object();
      SeccompArg arg;
      arg.index = a["index"].int_or<uint32_t>(0);
      if (arg.index > 5) a["index"].error(fmt::format("{} is outside 0..5", arg.index));
      arg.value = a["value"].int_or<uint64_t>(0);
      arg.value_two = a["valueTwo"].int_or<uint64_t>(0);
      arg.op = a["op"].string_or("");
      if (!is_seccomp_op(arg.op)) a["op"].error(fmt::format("unknown operator {}", quote(arg.op)));
      sc.args.push_back(arg);
    }
    s.syscalls.push_back(std::move(sc));
  }
  if (s.default_action == "SCMP_ACT_NOTIFY")
    n["defaultAction"].error("SCMP_ACT_NOTIFY cannot be the default action");
  return s;
}

Linux parse_linux(const Node& n) {
  Linux l;
  if (!n.present()) return l;
  n.expect_object();
  Node ns = n["namespaces"];
  for (size_t i = 0; i < ns.size(); ++i) {
    Node e = ns.at(i);
    e.expect_object();
    std::string type = e["type"].string_or("");
    auto t = namespace_type_from_name(type);
    if (!t) e["type"].error(fmt::format("unknown namespace {}", quote(type)));
    for (const auto& prev : l.namespaces)
      if (prev.type == *t) e["type"].error(fmt::format("namespace {} given twice", quote(type)));
    std::string path = e["path"].string_or("");
    if (!path.empty() && path.front() != '/')
      e["path"].error(fmt::format("{} is not an absolute path", quote(path)));
    l.namespaces.push_back({*t, path});
  }
  l.uid_mappings = parse_id_mappings(n["uidMappings"]);
  l.gid_mappings = parse_id_mappings(n["gidMappings"]);
  Node to = n["timeOffsets"];
  for (const auto& key : to.keys()) {
    Node o = to[key.c_str()];
    if (key != "monotonic" && key != "boottime")
      o.error(fmt::format("unknown clock {} (want monotonic or boottime)", quote(key)));
    o.expect_object();
    TimeOffset off{o["secs"].int_or<int64_t>(0), o["nanosecs"].int_or<uint32_t>(0)};
    if (off.nanosecs >= 1000000000u) o["nanosecs"].error(fmt::format("{} is not below 1e9", off.nanosecs));
    l.time_offsets[key] = off;
  }
  Node devs = n["devices"];
  for (size_t i = 0; i < devs.size(); ++i) {
    Node d = devs.at(i);
    d.expect_object();
    Device dev;
    std::string type = d["type"].string_or("");
    if (type != "c" && type != "b" && type != "u" && type != "p")
      d["type"].error(fmt::format("unknown device type {} (want c, b, u or p)", quote(type)));
    dev.type = type[0];
    dev.path = d["path"].string_or("");
    if (dev.path.empty() || dev.path.front() != '/')
      d["path"].error(fmt::format("{} is not an absolute path", quote(dev.path)));
    dev.major = device_number(d["major"]);
    dev.minor = device_number(d["minor"]);
    if (dev.type != 'p' && (!d["major"].present() || !d["minor"].present()))
      d.error("major and minor are required for a c, b or u device");
    dev.file_mode = opt<uint32_t>(d, "fileMode");
    dev.uid = opt<uint32_t>(d, "uid");
    dev.gid = opt<uint32_t>(d, "gid");
    l.devices.push_back(std::move(dev));
  }
  l.cgroups_path = n["cgroupsPath"].string_or("");
  if (Node r = n["resources"]; r.present()) l.resources = parse_resources_node(r);
  l.rootfs_propagation = n["rootfsPropagation"].string_or("");
  if (!l.rootfs_propagation.empty() && !is_propagation(l.rootfs_propagation))
    n["rootfsPropagation"].error(fmt::format("unknown propagation {}", quote(l.rootfs_propagation)));
  if (Node s = n["seccomp"]; s.present()) l.seccomp = parse_seccomp(s);
  l.sysctl = n["sysctl"].string_map();
  l.masked_paths = n["maskedPaths"].string_list();
  l.readonly_paths = n["readonlyPaths"].string_list();
  l.mount_label = n["mountLabel"].string_or("");
  if (Node r = n["intelRdt"]; r.present()) {
    r.expect_object();
    IntelRdt rdt;
    rdt.clos_id = r["closID"].string_or("");
    rdt.l3_cache_schema = r["l3CacheSchema"].string_or("");
    rdt.mem_bw_schema = r["memBwSchema"].string_or("");
    rdt.schemata = r["schemata"].string_list();
    rdt.enable_monitoring = r["enableMonitoring"].bool_or(false) || r["enableCMT"].bool_or(false) ||
                            r["enableMBM"].bool_or(false);
    // hull does not drive resctrl: accepting a class it never applies (or a closID like
    // "../../x" it would one day write as a path) would tell the caller it is in force.
    if (!rdt.clos_id.empty() || !rdt.l3_cache_schema.empty() || !rdt.mem_bw_schema.empty() ||
        !rdt.schemata.empty() || rdt.enable_monitoring)
      r.error("not supported: hull does not manage Intel RDT (resctrl)");
    l.intel_rdt = std::move(rdt);
  }
  if (Node p = n["personality"]; p.present()) {
    p.expect_object();
    Personality per;
    per.domain = p["domain"].string_or("");
    if (per.domain != "LINUX" && per.domain != "LINUX32")
      p["domain"].error(fmt::format("unknown personality domain {} (want LINUX or LINUX32)", quote(per.domain)));
    per.flags = p["flags"].string_list();
    l.personality = std::move(per);
  }
  Node nd = n["netDevices"];
  for (const auto& key : nd.keys()) {
    Node d = nd[key.c_str()];
    d.expect_object();
    l.net_devices[key] = NetDevice{d["name"].string_or("")};
  }
  return l;
}

Mount parse_mount(const Node& m) {
  m.expect_object();
  Mount mnt;
  mnt.destination = m["destination"].string_or("");
  if (mnt.destination.empty()) m["destination"].error("required");
  mnt.type = m["type"].string_or("");
  mnt.source = m["source"].string_or("");
  mnt.options = m["options"].string_list();
  for (size_t i = 0; i < mnt.options.size(); ++i) {
    const auto& o = mnt.options[i];
    if (o.empty()) m["options"].at(i).error("empty option");
  }
  mnt.uid_mappings = parse_id_mappings(m["uidMappings"]);
  mnt.gid_mappings = parse_id_mappings(m["gidMappings"]);
  return mnt;
}

void check_oci_version(const Node& n, const std::string& version) {
  // runtime-spec versions are SemVer. hull implements 1.2 and reads every 1.x config the
  // same way (later minors only add fields, and unknown fields are ignored).
  auto core = version.substr(0, version.find_first_of("-+"));
  auto parts = split(core, '.');
  if (parts.size() != 3 || !parse_u64(parts[0]) || !parse_u64(parts[1]) || !parse_u64(parts[2]))
    n.error(fmt::format("{} is not a version (want 1.0.0 to 1.2.x)", quote(version)));
  if (parts[0] != "1")
    n.error(fmt::format("unsupported version {} (hull implements runtime-spec 1.0.0 to 1.2.x)", quote(version)));
}

}  // namespace

Spec parse_spec(std::string_view text) {
  json j = parse_text(text, "config.json");
  expect_document_object(j, "config.json");
  Node root(&j, "");
  Spec s;
  auto version = root["ociVersion"].opt_string();
  if (!version) root["ociVersion"].error("required");
  check_oci_version(root["ociVersion"], *version);
  s.oci_version = *version;
  if (Node p = root["process"]; p.present()) s.process = parse_process_node(p);
  if (Node r = root["root"]; r.present()) {
    r.expect_object();
    s.root.path = r["path"].string_or("");
    s.root.readonly = r["readonly"].bool_or(false);
  }
  s.hostname = parse_host_name(root["hostname"]);
  s.domainname = parse_host_name(root["domainname"]);
  Node mounts = root["mounts"];
  for (size_t i = 0; i < mounts.size(); ++i) s.mounts.push_back(parse_mount(mounts.at(i)));
  if (Node h = root["hooks"]; h.present()) {
    h.expect_object();
    s.hooks.prestart = parse_hook_list(h["prestart"]);
    s.hooks.create_runtime = parse_hook_list(h["createRuntime"]);
    s.hooks.create_container = parse_hook_list(h["createContainer"]);
    s.hooks.start_container = parse_hook_list(h["startContainer"]);
    s.hooks.poststart = parse_hook_list(h["poststart"]);
    s.hooks.poststop = parse_hook_list(h["poststop"]);
  }
  s.annotations = root["annotations"].string_map();
  s.linux = parse_linux(root["linux"]);
  validate(s);
  return s;
}

Spec load_spec(const std::string& bundle) {
  std::string path = path_join(bundle, "config.json");
  auto text = read_file_if_exists(path);
  if (!text) fail_err(ENOENT, "open {}", path);
  return parse_spec(*text);
}

Process parse_process(std::string_view text) {
  json j = parse_text(text, "process.json");
  expect_document_object(j, "process.json");
  Process p = parse_process_node(Node(&j, ""));
  validate_process(p, "");
  return p;
}

Resources parse_resources(std::string_view text) {
  json j = parse_text(text, "linux.resources");
  return parse_resources_node(Node(&j, "linux.resources"));
}

Seccomp parse_seccomp_profile(std::string_view text) {
  json j = parse_text(text, "seccomp profile");
  expect_document_object(j, "seccomp profile");
  return parse_seccomp(Node(&j, ""));
}

}  // namespace hull::oci
