// The systemd driver's D-Bus half: libsystemd's sd-bus (dlopen'ed on first use, so the
// cgroupfs path never maps it), StartTransientUnit / SetUnitProperties / StopUnit, each
// job waited for through its JobRemoved signal; and the Manager that puts it in front of
// hull's own v1/v2 drivers for the scope's cgroup.
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "cgroup/drivers.h"
#include "cgroup/systemd.h"
#include "util/clock.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr int64_t kJobTimeoutMs = 30000;

// The part of libsystemd hull uses, bound once per process.
struct SdBus {
  decltype(&sd_bus_new) bus_new;
  decltype(&sd_bus_set_address) set_address;
  decltype(&sd_bus_start) start;
  decltype(&sd_bus_open_system) open_system;
  decltype(&sd_bus_flush_close_unref) close_unref;
  decltype(&sd_bus_message_new_method_call) new_method_call;
  decltype(&sd_bus_message_append) append;
  decltype(&sd_bus_message_append_array) append_array;
  decltype(&sd_bus_message_open_container) open_container;
  decltype(&sd_bus_message_close_container) close_container;
  decltype(&sd_bus_message_read) read;
  decltype(&sd_bus_message_unref) message_unref;
  decltype(&sd_bus_call) call;
  decltype(&sd_bus_match_signal) match_signal;
  decltype(&sd_bus_slot_unref) slot_unref;
  decltype(&sd_bus_process) process;
  decltype(&sd_bus_wait) wait;
  decltype(&sd_bus_error_free) error_free;
  decltype(&sd_bus_error_has_name) error_has_name;
};

constexpr const char* kLib = "libsystemd.so.0";

const SdBus& sdbus() {
  static const SdBus api = [] {
    void* lib = with_context("--systemd-cgroup", [] { return load_library(kLib, "libsystemd0"); });
    SdBus a;
    bind_symbol(lib, kLib, a.bus_new, "sd_bus_new");
    bind_symbol(lib, kLib, a.set_address, "sd_bus_set_address");
    bind_symbol(lib, kLib, a.start, "sd_bus_start");
    bind_symbol(lib, kLib, a.open_system, "sd_bus_open_system");
    bind_symbol(lib, kLib, a.close_unref, "sd_bus_flush_close_unref");
    bind_symbol(lib, kLib, a.new_method_call, "sd_bus_message_new_method_call");
    bind_symbol(lib, kLib, a.append, "sd_bus_message_append");
    bind_symbol(lib, kLib, a.append_array, "sd_bus_message_append_array");
    bind_symbol(lib, kLib, a.open_container, "sd_bus_message_open_container");
    bind_symbol(lib, kLib, a.close_container, "sd_bus_message_close_container");
    bind_symbol(lib, kLib, a.read, "sd_bus_message_read");
    bind_symbol(lib, kLib, a.message_unref, "sd_bus_message_unref");
    bind_symbol(lib, kLib, a.call, "sd_bus_call");
    bind_symbol(lib, kLib, a.match_signal, "sd_bus_match_signal");
    bind_symbol(lib, kLib, a.slot_unref, "sd_bus_slot_unref");
    bind_symbol(lib, kLib, a.process, "sd_bus_process");
    bind_symbol(lib, kLib, a.wait, "sd_bus_wait");
    bind_symbol(lib, kLib, a.error_free, "sd_bus_error_free");
    bind_symbol(lib, kLib, a.error_has_name, "sd_bus_error_has_name");
    return a;
  }();
  return api;
}

// sd-bus returns -errno; a builder step that fails is a bug or memory, named by what it built.
void check(int r, const char* what) {
  if (r < 0) fail_err(-r, "D-Bus: {}", what);
}

struct BusError {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  ~BusError() { sdbus().error_free(&e); }
  bool is(const char* name) const { return sdbus().error_has_name(&e, name) > 0; }
  std::string text(int r) const {
    if (e.message) return fmt::format("{} ({})", e.message, e.name ? e.name : "?");
    return std::strerror(-r);
  }
};

struct Message {
  sd_bus_message* m = nullptr;
  ~Message() {
    if (m) sdbus().message_unref(m);
  }
};

// One connection to systemd: its private socket when we are root (as systemctl; no bus daemon
// in between, one hop less per call), else the system bus.
class Bus {
 public:
  Bus() {
    const SdBus& api = sdbus();
    int r = -ENOENT;
    if (::geteuid() == 0 && path_exists("/run/systemd/private")) {
      check(api.bus_new(&bus_), "sd_bus_new");
      check(api.set_address(bus_, "unix:path=/run/systemd/private"), "set address");
      r = api.start(bus_);
      if (r < 0) {
        log::debug("systemd's private socket: {}; trying the system bus", std::strerror(-r));
        api.close_unref(bus_);
        bus_ = nullptr;
      }
    }
    if (!bus_) {
      r = api.open_system(&bus_);
      if (r < 0)
        fail_err(-r,
                 "--systemd-cgroup: cannot connect to systemd over D-Bus (/run/systemd/private, "
                 "the system bus)");
    }
    r = api.match_signal(bus_, &slot_, nullptr, kPath, kManagerIface, "JobRemoved",
                         &Bus::on_job_removed, this);
    check(r, "match JobRemoved");
  }
  ~Bus() {
    if (slot_) sdbus().slot_unref(slot_);
    if (bus_) sdbus().close_unref(bus_);
  }
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  Message method(const char* member) {
    Message m;
    check(sdbus().new_method_call(bus_, &m.m, kDest, kPath, kManagerIface, member), member);
    return m;
  }

  // The call's reply; on an error reply, err holds it and the return value is negative.
  int call(Message& m, BusError& err, Message& reply) {
    return sdbus().call(bus_, m.m, 25 * 1000000ULL, &err.e, &reply.m);
  }

  // Waits for the job's JobRemoved and returns its result ("done", "failed", "timeout", ...).
  std::string wait_job(const std::string& job, const std::string& unit) {
    const SdBus& api = sdbus();
    int64_t deadline = monotonic_ms() + kJobTimeoutMs;
    for (;;) {
      if (auto it = removed_.find(job); it != removed_.end()) return it->second;
      int r = api.process(bus_, nullptr);
      if (r < 0) fail_err(-r, "D-Bus: waiting for systemd's job on {}", unit);
      if (r > 0) continue;
      int64_t left = deadline - monotonic_ms();
      if (left <= 0)
        fail("systemd did not finish its job on unit {} within {} s", unit, kJobTimeoutMs / 1000);
      r = api.wait(bus_, static_cast<uint64_t>(left) * 1000);
      if (r < 0 && r != -EINTR) fail_err(-r, "D-Bus: waiting for systemd's job on {}", unit);
    }
  }

 private:
  static int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sdbus().read(m, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
      static_cast<Bus*>(userdata)->removed_[job] = result;
    return 0;
  }

  sd_bus* bus_ = nullptr;
  sd_bus_slot* slot_ = nullptr;
  std::map<std::string, std::string> removed_;
};

void append_property(sd_bus_message* m, const UnitProperty& p) {
  const SdBus& api = sdbus();
  check(api.open_container(m, 'r', "sv"), "property");
  check(api.append(m, "s", p.name.c_str()), "property name");
  check(api.open_container(m, 'v', p.type.c_str()), "property value");
  if (p.type == "t")
    check(api.append(m, "t", p.number), p.name.c_str());
  else if (p.type == "x")
    check(api.append(m, "x", static_cast<int64_t>(p.number)), p.name.c_str());
  else if (p.type == "u")
    check(api.append(m, "u", static_cast<uint32_t>(p.number)), p.name.c_str());
  else if (p.type == "i")
    check(api.append(m, "i", static_cast<int32_t>(p.number)), p.name.c_str());
  else if (p.type == "b")
    check(api.append(m, "b", static_cast<int>(p.number != 0)), p.name.c_str());
  else if (p.type == "s")
    check(api.append(m, "s", p.text.c_str()), p.name.c_str());
  else if (p.type == "ay")
    check(api.append_array(m, 'y', p.bytes.data(), p.bytes.size()), p.name.c_str());
  else if (p.type == "au") {
    check(api.open_container(m, 'a', "u"), p.name.c_str());
    check(api.append(m, "u", static_cast<uint32_t>(p.number)), p.name.c_str());
    check(api.close_container(m), p.name.c_str());
  } else if (p.type == "a(ss)") {
    check(api.open_container(m, 'a', "(ss)"), p.name.c_str());
    for (const auto& [a, b] : p.pairs)
      check(api.append(m, "(ss)", a.c_str(), b.c_str()), p.name.c_str());
    check(api.close_container(m), p.name.c_str());
  } else {
    fail("internal error: unit property {} of type {}", p.name, p.type);
  }
  check(api.close_container(m), "property value");
  check(api.close_container(m), "property");
}

void append_properties(sd_bus_message* m, const std::vector<UnitProperty>& props) {
  check(sdbus().open_container(m, 'a', "(sv)"), "properties");
  for (const auto& p : props) append_property(m, p);
  check(sdbus().close_container(m), "properties");
}

std::string read_object_path(Message& reply, const char* what) {
  const char* path = nullptr;
  check(sdbus().read(reply.m, "o", &path), what);
  return path ? path : "";
}

void reset_failed(Bus& bus, const std::string& unit) {
  Message m = bus.method("ResetFailedUnit");
  check(sdbus().append(m.m, "s", unit.c_str()), "ResetFailedUnit");
  BusError err;
  Message reply;
  if (int r = bus.call(m, err, reply); r < 0)
    log::debug("ResetFailedUnit {}: {}", unit, err.text(r));
}

bool job_failed(const std::string& result) {
  return result != "done";
}

// The cgroup the kernel shows for pid in the hierarchy systemd tracks processes in.
std::string tracked_cgroup(pid_t pid, bool v2_tracking) {
  auto text = read_file_if_exists(fmt::format("/proc/{}/cgroup", pid)).value_or("");
  for (const auto& line : split(text, '\n')) {
    if (v2_tracking && line.rfind("0::", 0) == 0) return line.substr(3);
    auto c = line.find(":name=systemd:");
    if (!v2_tracking && c != std::string::npos) return line.substr(c + 14);
  }
  return "";
}

class SystemdManager : public Manager {
 public:
  SystemdManager(const HostLayout& layout, const std::string& path, std::string unit,
                 std::string slice, std::vector<UnitProperty> extra)
      : Manager(layout, path),
        inner_(layout.layout == Layout::v2 ? make_v2_manager(layout, path)
                                           : make_v1_manager(layout, path)),
        unit_(std::move(unit)),
        slice_(std::move(slice)),
        started_(slice_.empty()),
        extra_(std::move(extra)) {}

  std::string unit() const override { return unit_; }

  // systemd makes the scope when the init exists (add); nothing to do before.
  void create() override {
    if (!systemd_running())
      fail(
          "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); drop "
          "the flag for hull's cgroupfs driver");
  }
  int clone_fd() override { return -1; }

  void add(pid_t pid) override {
    if (started_) {
      inner_->add(pid);
      return;
    }
    start(pid);
    started_ = true;
    // v1: the hierarchies systemd does not manage (cpuset, freezer, ...) get their
    // directory from hull, and the init joins them; v2: already there, a no-op.
    if (layout_.layout != Layout::v2) {
      inner_->create();
      inner_->add(pid);
    }
    if (pending_) inner_->apply(*pending_, false);
  }

  void apply(const oci::Resources& r, bool update) override {
    if (!started_) {
      // Given to StartTransientUnit with the init's PID, then written to the files.
      pending_ = r;
      return;
    }
    auto props = properties(r);
    if (!props.empty()) {
      Bus bus;
      Message m = bus.method("SetUnitProperties");
      check(sdbus().append(m.m, "sb", unit_.c_str(), 1), "SetUnitProperties");
      append_properties(m.m, props);
      BusError err;
      Message reply;
      if (int r2 = bus.call(m, err, reply); r2 < 0)
        fail("systemd refused SetUnitProperties on unit {}: {}", unit_, err.text(r2));
    }
    inner_->apply(r, update);
  }

  void freeze() override { inner_->freeze(); }
  void thaw() override { inner_->thaw(); }
  bool frozen() override { return started_ && inner_->frozen(); }
  std::vector<pid_t> pids() override { return started_ ? inner_->pids() : std::vector<pid_t>{}; }
  void kill_all(int sig) override { inner_->kill_all(sig); }

  void destroy() override {
    if (!started_) return;
    // What is left is killed first (StopUnit alone would send SIGTERM and wait out
    // TimeoutStopSec for a process that ignores it); then systemd stops the unit, which
    // removes its cgroup, and forgets it if it failed.
    std::optional<Error> first;
    try {
      inner_->destroy();
    } catch (const Error& e) {
      first = e;
    }
    try {
      stop();
    } catch (const Error& e) {
      if (!first) first = e;
    }
    if (first) throw *first;
  }

  std::vector<ContainerMount> container_mounts() override { return inner_->container_mounts(); }
  Stats stats() override { return inner_->stats(); }
  uint64_t oom_kills() override { return inner_->oom_kills(); }
  Fd oom_notify_fd() override { return inner_->oom_notify_fd(); }

 private:
  bool v2_tracking() const { return layout_.layout != Layout::v1; }

  std::vector<UnitProperty> properties(const oci::Resources& r) const {
    return resource_properties(r, layout_.layout == Layout::v2,
                               read_file_if_exists("/proc/devices").value_or(""));
  }

  void start(pid_t pid) {
    if (!systemd_running())
      fail(
          "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); drop "
          "the flag for hull's cgroupfs driver");
    std::vector<UnitProperty> props;
    auto add = [&](const char* name, const char* type, uint64_t n, std::string s = "") {
      UnitProperty p;
      p.name = name;
      p.type = type;
      p.number = n;
      p.text = std::move(s);
      props.push_back(std::move(p));
    };
    add("Description", "s", 0, "hull container " + unit_);
    add("Slice", "s", 0, slice_);
    add("Delegate", "b", 1);
    add("PIDs", "au", static_cast<uint64_t>(pid));
    add("DefaultDependencies", "b", 0);
    add("MemoryAccounting", "b", 1);
    add("CPUAccounting", "b", 1);
    add("TasksAccounting", "b", 1);
    if (layout_.layout == Layout::v2) add("IOAccounting", "b", 1);
    if (pending_) {
      auto res = properties(*pending_);
      props.insert(props.end(), res.begin(), res.end());
    }
    props.insert(props.end(), extra_.begin(), extra_.end());
    log::step("systemd properties");
    Bus bus;
    log::step("systemd connected");
    std::string job;
    for (int attempt = 0;; ++attempt) {
      Message m = bus.method("StartTransientUnit");
      check(sdbus().append(m.m, "ss", unit_.c_str(), "fail"), "StartTransientUnit");
      append_properties(m.m, props);
      check(sdbus().append(m.m, "a(sa(sv))", 0), "StartTransientUnit");
      BusError err;
      Message reply;
      int r = bus.call(m, err, reply);
      if (r >= 0) {
        job = read_object_path(reply, "StartTransientUnit reply");
        break;
      }
      if (err.is("org.freedesktop.systemd1.UnitExists")) {
        // A failed unit of an earlier container may still hold the name: let systemd
        // forget it and try once more, as runc does.
        if (attempt == 0) {
          reset_failed(bus, unit_);
          continue;
        }
        fail(
            "linux.cgroupsPath: systemd unit {} already exists: another container (or program) "
            "uses that name",
            unit_);
      }
      fail("systemd refused to start unit {} (StartTransientUnit): {}", unit_, err.text(r));
    }
    log::step("systemd unit requested");
    std::string result = bus.wait_job(job, unit_);
    log::step("systemd unit started");
    if (job_failed(result)) {
      reset_failed(bus, unit_);
      fail("systemd could not start unit {} in {}: its job ended {}", unit_, slice_, quote(result));
    }
    // systemd's path must be the one hull computed and recorded in the state.
    std::string actual = tracked_cgroup(pid, v2_tracking());
    if (actual != path_) {
      started_ = true;
      try {
        stop();
      } catch (const Error& e) {
        log::warn("cleanup: {}", e.what());
      }
      fail("systemd put unit {} in cgroup {}, not {} as expected", unit_, quote(actual), path_);
    }
  }

  void stop() {
    Bus bus;
    Message m = bus.method("StopUnit");
    check(sdbus().append(m.m, "ss", unit_.c_str(), "replace"), "StopUnit");
    BusError err;
    Message reply;
    int r = bus.call(m, err, reply);
    if (r < 0) {
      if (err.is("org.freedesktop.systemd1.NoSuchUnit")) return;  // gone with its last process
      fail("systemd refused to stop unit {}: {}", unit_, err.text(r));
    }
    std::string result = bus.wait_job(read_object_path(reply, "StopUnit reply"), unit_);
    if (job_failed(result))
      log::warn("stopping systemd unit {}: its job ended {}", unit_, quote(result));
    reset_failed(bus, unit_);
  }

  std::unique_ptr<Manager> inner_;
  std::string unit_, slice_;
  bool started_;
  std::optional<oci::Resources> pending_;
  std::vector<UnitProperty> extra_;  // from the annotations, given at start
};

}  // namespace

std::unique_ptr<Manager> Manager::open_systemd(
    const std::string& path, const std::string& unit, const std::string& slice,
    const std::map<std::string, std::string>& annotations) {
  const HostLayout& layout = host_layout();
  if (layout.layout == Layout::none)
    fail("no cgroup file system is mounted (see /proc/self/mountinfo)");
  return std::make_unique<SystemdManager>(layout, path, unit, slice,
                                          annotation_properties(annotations));
}

}  // namespace hull::cgroup
