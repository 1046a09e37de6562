// One small unit per controller (as youki's): does it apply to these resources, apply
// them on v1 and on v2, read its stats. v1/v2 differences live here, not in the drivers.
// Every error names the JSON path of the field and its value
// ("linux.resources.memory.limit: -5: ...").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/stats.h"
#include "oci/spec.h"

namespace hull::cgroup {

struct Controller {
  const char* name;       // the v1 controller
  const char* v2_name;    // its cgroup v2 counterpart, nullptr when v2 has none
  const char* json_path;  // what it implements: "linux.resources.memory"
  bool (*applies)(const oci::Resources& r);
  // `dir` is the container's directory in the controller's hierarchy. apply_v1 is called
  // with "" when no v1 hierarchy has the controller and v2 cannot stand in (it refuses).
  void (*apply_v1)(const std::string& dir, const oci::Resources& r, bool update);
  void (*apply_v2)(const std::string& dir, const oci::Resources& r, bool update);
  void (*stats_v1)(const std::string& dir, Stats& s);
  void (*stats_v2)(const std::string& dir, Stats& s);
};

const std::vector<const Controller*>& controllers();

// Helpers for the units.

// docker and containerd send 0 for "not set" in these fields.
template <typename T>
bool is_set(const std::optional<T>& v) {
  return v && *v != 0;
}

// Writes value to dir/file. An error reads "JSON_PATH: VALUE: write DIR/FILE: <errno>".
void write_value(const std::string& dir, const char* file, const std::string& value,
                 std::string_view json_path);
// Like write_value, with the JSON value shown as given when the file wants another spelling.
void write_value(const std::string& dir, const char* file, const std::string& value,
                 std::string_view json_path, std::string_view shown);
bool has_file(const std::string& dir, const char* file);
// The trimmed content, or nullopt when the file does not exist.
std::optional<std::string> read_value(const std::string& dir, const char* file);
// A number file; "max" reads as UINT64_MAX; missing or junk reads as 0.
uint64_t read_u64(const std::string& dir, const char* file);
// "key value" lines (memory.stat, cpu.stat, memory.events).
std::map<std::string, uint64_t> read_keyed(const std::string& dir, const char* file);
// "0-3,5" -> {0,1,2,3,5}.
std::vector<uint16_t> parse_cpu_list(std::string_view list);

// The v1 -> v2 conversions runc and crun use (convert.cpp).
// cpu.shares (2..262144, default 1024) -> cpu.weight (1..10000, default 100), linear.
uint64_t shares_to_weight(uint64_t shares);
// blkio.weight (10..1000, default 500) -> io.weight (1..10000, default 100), linear.
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// v1 memory.memsw (memory+swap) -> v2 memory.swap.max (swap alone); -1 is "max", 0 "unset".
// Throws (naming linux.resources.memory.swap) when the pair makes no sense.
int64_t swap_to_v2(int64_t swap, int64_t limit);

}  // namespace hull::cgroup
