// Issue 16's refusals (defects 6-9): NUL bytes, values the kernel would misread, messages
// that name the field, damaged state files, the seccomp cache's bound. Each case failed (was
// accepted, or said something that named no field) before.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "cgroup/manager.h"
#include "linux/seccomp.h"
#include "oci/parse.h"
#include "oci/state.h"
#include "runtime/state_store.h"
#include "util/error.h"
#include "util/fs.h"

using hull::Error;
using hull::oci::parse_spec;
using json = nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},
    "process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"},{"type":"uts"}]}})");
}

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string spec_error(const json& j) {
  return error_of([&] { parse_spec(j.dump()); });
}

std::string spec_error(const std::string& text) {
  return error_of([&] { parse_spec(text); });
}

}  // namespace

TEST(Harden, NulBytesAreRefusedNamingThePath) {
  auto with = [](auto mutate) {
    json j = minimal();
    mutate(j);
    return spec_error(j);
  };
  std::string nul("a\0b", 3);
  EXPECT_EQ(with([&](json& j) { j["process"]["args"][0] = nul; }),
            "process.args[0]: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) { j["process"]["env"] = {"A=" + nul}; }),
            "process.env[0]: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) { j["root"]["path"] = nul; }), "root.path: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) { j["hostname"] = nul; }), "hostname: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) {
              j["mounts"] = {{{"destination", "/x" + nul}}};
            }),
            "mounts[0].destination: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) { j["linux"]["cgroupsPath"] = "/a" + nul; }),
            "linux.cgroupsPath: contains a NUL byte");
  EXPECT_EQ(with([&](json& j) {
              j["annotations"] = {{nul, "v"}};
            }),
            "annotations: key \"a\\u0000b\" contains a NUL byte");
  // The JSON escape is what a caller sends; it must not slip through either.
  std::string text = minimal().dump();
  text.replace(text.find("\"sh\""), 4, R"("s\u0000h")");
  EXPECT_EQ(spec_error(text), "process.args[0]: contains a NUL byte");
}

TEST(Harden, ValuesToRefuse) {
  json j = minimal();
  j["linux"]["resources"] = {
      {"devices", {{{"allow", true}, {"type", "c"}, {"major", -1}, {"minor", 1}}}}};
  EXPECT_EQ(spec_error(j), "linux.resources.devices[0].major: -1 is negative");
  j = minimal();
  j["linux"]["devices"] = {{{"type", "c"}, {"path", "/dev/x"}, {"major", 1}, {"minor", -3}}};
  EXPECT_EQ(spec_error(j), "linux.devices[0].minor: -3 is negative");
  j = minimal();
  j["linux"]["intelRdt"] = {{"closID", "../../x"}};
  EXPECT_EQ(spec_error(j),
            "linux.intelRdt: not supported: hull does not manage Intel RDT (resctrl)");
  j = minimal();
  j["linux"]["intelRdt"] = json::object();  // nothing asked, nothing to refuse
  EXPECT_EQ(spec_error(j), "no error");
  j = minimal();
  j["process"]["execCPUAffinity"] = {{"final", "0-3,x"}};
  EXPECT_EQ(spec_error(j),
            "process.execCPUAffinity.final: \"0-3,x\" is not a cpu list: \"x\" is not a cpu or a "
            "range of cpus");
  j["process"]["execCPUAffinity"] = {{"initial", "3-1"}};
  EXPECT_EQ(
      spec_error(j),
      "process.execCPUAffinity.initial: \"3-1\" is not a cpu list: range \"3-1\" runs backwards");
  j["process"]["execCPUAffinity"] = {{"initial", "0-1"}, {"final", "1"}};
  EXPECT_EQ(spec_error(j), "no error");
  j = minimal();
  j["hostname"] = "web\nroot";
  EXPECT_EQ(spec_error(j), "hostname: \"web\\nroot\" contains a control character");
  j["hostname"] = std::string(65, 'h');
  EXPECT_EQ(spec_error(j).rfind("hostname: ", 0), 0u);
  EXPECT_NE(spec_error(j).find("longer than 64 bytes"), std::string::npos);
  EXPECT_EQ(error_of([] { hull::runtime::validate_id(std::string(256, 'a')); }),
            "container id: 256 bytes is longer than 255");
  EXPECT_EQ(error_of([] { hull::runtime::validate_id(std::string(255, 'a')); }), "no error");
}

TEST(Harden, MessagesNameTheField) {
  std::string text = minimal().dump();
  text.replace(text.find("\"cwd\""), 0, R"("user":{"uid":1e309},)");
  EXPECT_EQ(spec_error(text),
            "config.json: invalid JSON at process.user.uid: number overflow parsing '1e309'");
  EXPECT_EQ(spec_error(std::string(R"({"a":[1,2,{"b":[0,1e999]}]})")),
            "config.json: invalid JSON at a[2].b[1]: number overflow parsing '1e999'");
  for (const char* doc : {"null", "[]", "42", "\"x\""})
    EXPECT_EQ(spec_error(std::string(doc)).rfind("config.json: expected a JSON object, got ", 0),
              0u)
        << doc;

  json j = minimal();
  j["process"]["user"] = {{"uid", 0}, {"gid", 0}, {"additionalGids", std::vector<int>(100000, 5)}};
  EXPECT_EQ(spec_error(j),
            "process.user.additionalGids: 100000 groups; the kernel takes at most 65536");
  j = minimal();
  j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN"}},
                                  {"permitted", {"CAP_CHOWN"}},
                                  {"effective", {"CAP_CHOWN", "CAP_SYS_ADMIN"}}};
  EXPECT_EQ(spec_error(j),
            "process.capabilities.effective[1]: CAP_SYS_ADMIN is not in "
            "process.capabilities.permitted (the kernel "
            "refuses it)");
  j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN"}}, {"inheritable", {"CAP_KILL"}}};
  EXPECT_EQ(spec_error(j),
            "process.capabilities.inheritable[0]: CAP_KILL is not in process.capabilities.bounding "
            "(the kernel "
            "refuses it)");
  j = minimal();
  j["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 1000}};
  EXPECT_EQ(spec_error(j), "process.scheduler.priority: 1000 is outside 1..99 for SCHED_FIFO");
  j["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"priority", 5}};
  EXPECT_EQ(spec_error(j), "process.scheduler.priority: 5 must be 0 for SCHED_OTHER");
  j["process"]["scheduler"] = {{"policy", "SCHED_RR"}, {"priority", 10}};
  EXPECT_EQ(spec_error(j), "no error");
}

TEST(Harden, DamagedStateIsRefusedNotDefaulted) {
  auto state_error = [](const std::string& text) {
    return error_of([&] { hull::oci::state_from_json(text); });
  };
  EXPECT_EQ(state_error("").rfind("state.json: invalid JSON", 0), 0u);
  EXPECT_EQ(
      state_error(R"({"ociVersion":"1.2.0","id":"x","pi)").rfind("state.json: invalid JSON", 0),
      0u);
  EXPECT_EQ(state_error("[1]"), "state.json: expected a JSON object, got array");
  EXPECT_EQ(state_error("{}"), "state.json.id: required");
  EXPECT_EQ(state_error(R"({"id":"x","status":"zombie"})"),
            "state.json.status: unknown status \"zombie\"");
  EXPECT_EQ(state_error(R"({"id":"x","status":"running","pid":3})"), "state.json.hull: required");
  hull::oci::State s;
  s.id = "x";
  s.pid = 42;
  s.cgroup_path = "/a/b/x";
  s.cgroup_made_from = "/a";
  auto back = hull::oci::state_from_json(hull::oci::state_to_json(s));
  EXPECT_EQ(back.pid, 42);
  EXPECT_EQ(back.cgroup_made_from, "/a");
}

TEST(Harden, SeccompCacheKeepsTheMostRecentlyUsed) {
  char tmpl[] = "/tmp/hull-prune-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string dir = tmpl;
  time_t now = ::time(nullptr);
  for (int i = 0; i < 6; ++i) {
    std::string f = hull::path_join(dir, std::to_string(i) + ".bpf");
    hull::write_file(f, "x", 0600);
    // i = 0 is the oldest; 5 was used 8 days ago and goes whatever the count.
    time_t t = i == 5 ? now - 8 * 86400 : now - (10 - i) * 60;
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), ts, 0), 0);
  }
  hull::linux::prune_seccomp_cache(dir, 3);
  EXPECT_EQ(hull::list_dir(dir), (std::vector<std::string>{"2.bpf", "3.bpf", "4.bpf"}));
  hull::remove_all(dir);
}

// cgroup directories on plain directories of a temporary dir: what create() and destroy() do
// with the tree, without the kernel's cgroup file system.
namespace {

struct FakeHierarchies {
  std::string base;
  hull::cgroup::HostLayout layout;
  FakeHierarchies() {
    char tmpl[] = "/tmp/hull-cg-XXXXXX";
    base = ::mkdtemp(tmpl);
    layout.layout = hull::cgroup::Layout::v1;
    for (const char* c : {"pids", "memory"}) {
      hull::cgroup::Hierarchy h;
      h.mount_point = hull::path_join(base, c);
      h.controllers = {c};
      ::mkdir(h.mount_point.c_str(), 0755);
      layout.hierarchies.push_back(h);
    }
  }
  ~FakeHierarchies() { hull::remove_all(base); }
  std::string at(int i, const std::string& p) const {
    return layout.hierarchies[i].mount_point + p;
  }
};

}  // namespace

TEST(Harden, CgroupDestroyGoesOnPastAFailingHierarchyAndRemovesTheParentsItMade) {
  FakeHierarchies f;
  ::mkdir(f.at(1, "/x").c_str(), 0755);  // in one hierarchy only
  auto cg = hull::cgroup::Manager::open(f.layout, "/x/y/z");
  std::string top = cg->missing_from();
  EXPECT_EQ(top, "/x");  // the highest that is missing anywhere
  cg->set_made_from(top);
  cg->create();
  EXPECT_EQ(cg->missing_from(), "");
  // A file in the first hierarchy's directory: its rmdir fails (ENOTEMPTY), not EBUSY.
  hull::write_file(f.at(0, "/x/y/z/junk"), "", 0600);
  EXPECT_THROW(cg->destroy(), Error);
  EXPECT_TRUE(hull::path_exists(f.at(0, "/x/y/z")));
  EXPECT_FALSE(hull::path_exists(f.at(1, "/x/y")));
}

TEST(Harden, CgroupCreateThatFailsPartWayRemovesWhatItMade) {
  FakeHierarchies f;
  // The second hierarchy's mount point is a file: its mkdir fails with ENOTDIR.
  hull::remove_all(f.layout.hierarchies[1].mount_point);
  hull::write_file(f.layout.hierarchies[1].mount_point, "", 0600);
  auto cg = hull::cgroup::Manager::open(f.layout, "/a/b");
  EXPECT_THROW(cg->create(), Error);
  EXPECT_FALSE(hull::path_exists(f.at(0, "/a")));
}
