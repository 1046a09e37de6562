// blkio (v1) / io (v2): proportional weights and throttling per device.
#include "cgroup/controller.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

constexpr const char* kPath = "linux.resources.blockIO";

std::string field(const char* name) {
  return fmt::format("{}.{}", kPath, name);
}
std::string item(const char* name, size_t i) {
  return fmt::format("{}.{}[{}]", kPath, name, i);
}

bool applies(const oci::Resources& r) {
  if (!r.block_io) return false;
  const auto& b = *r.block_io;
  return is_set(b.weight) || is_set(b.leaf_weight) || !b.weight_device.empty() ||
         !b.throttle_read_bps.empty() || !b.throttle_write_bps.empty() ||
         !b.throttle_read_iops.empty() || !b.throttle_write_iops.empty();
}

void check_weight(const std::optional<uint16_t>& w, const std::string& path) {
  if (is_set(w) && (*w < 10 || *w > 1000))
    fail_as(ErrorKind::invalid_config, "{}: {} is outside 10..1000", path, *w);
}

void validate(const oci::BlockIoResources& b) {
  check_weight(b.weight, field("weight"));
  check_weight(b.leaf_weight, field("leafWeight"));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    check_weight(b.weight_device[i].weight, item("weightDevice", i) + ".weight");
    check_weight(b.weight_device[i].leaf_weight, item("weightDevice", i) + ".leafWeight");
  }
}

struct Throttle {
  const std::vector<oci::ThrottleDevice>* list;
  const char* json_name;
  const char* v1_file;
  const char* v2_key;
};

std::vector<Throttle> throttles(const oci::BlockIoResources& b) {
  return {
      {&b.throttle_read_bps, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
      {&b.throttle_write_bps, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
      {&b.throttle_read_iops, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
      {&b.throttle_write_iops, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device",
       "wiops"}};
}

// v1 weights live in blkio.weight (CFQ, gone since 5.0) or blkio.bfq.weight (BFQ).
const char* v1_weight_file(const std::string& dir, bool device, const std::string& path,
                           uint16_t w) {
  if (has_file(dir, device ? "blkio.weight_device" : "blkio.weight"))
    return device ? "blkio.weight_device" : "blkio.weight";
  if (has_file(dir, device ? "blkio.bfq.weight_device" : "blkio.bfq.weight"))
    return device ? "blkio.bfq.weight_device" : "blkio.bfq.weight";
  fail_as(ErrorKind::invalid_config,
          "{}: {}: this kernel has no proportional I/O weights (neither CFQ nor BFQ)", path, w);
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool) {
  const auto& b = *r.block_io;
  validate(b);
  if (is_set(b.weight))
    write_value(dir, v1_weight_file(dir, false, field("weight"), *b.weight),
                std::to_string(*b.weight), field("weight"));
  if (is_set(b.leaf_weight)) {
    if (!has_file(dir, "blkio.leaf_weight"))
      fail_as(ErrorKind::invalid_config, "{}: {}: this kernel has no leaf weights (CFQ is gone)",
              field("leafWeight"), *b.leaf_weight);
    write_value(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight), field("leafWeight"));
  }
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& d = b.weight_device[i];
    if (is_set(d.weight)) {
      std::string path = item("weightDevice", i) + ".weight";
      write_value(dir, v1_weight_file(dir, true, path, *d.weight),
                  fmt::format("{}:{} {}", d.major, d.minor, *d.weight), path);
    }
    if (is_set(d.leaf_weight)) {
      std::string path = item("weightDevice", i) + ".leafWeight";
      if (!has_file(dir, "blkio.leaf_weight_device"))
        fail_as(ErrorKind::invalid_config, "{}: {}: this kernel has no leaf weights (CFQ is gone)",
                path, *d.leaf_weight);
      write_value(dir, "blkio.leaf_weight_device",
                  fmt::format("{}:{} {}", d.major, d.minor, *d.leaf_weight), path);
    }
  }
  for (const auto& t : throttles(b))
    for (size_t i = 0; i < t.list->size(); ++i) {
      const auto& d = (*t.list)[i];
      // A rate of 0 removes the device's limit, as the kernel reads it.
      write_value(dir, t.v1_file, fmt::format("{}:{} {}", d.major, d.minor, d.rate),
                  item(t.json_name, i));
    }
}

void apply_v2(const std::string& dir, const oci::Resources& r, bool) {
  const auto& b = *r.block_io;
  validate(b);
  // With BFQ the weight is written as given (1..1000); otherwise io.weight on its 1..10000 scale.
  bool bfq = has_file(dir, "io.bfq.weight");
  auto weight_file = [&](const std::string& path, uint16_t w) -> const char* {
    if (bfq) return "io.bfq.weight";
    if (has_file(dir, "io.weight")) return "io.weight";
    fail_as(ErrorKind::invalid_config,
            "{}: {}: this kernel has no proportional I/O weights (io.weight, io.bfq.weight)", path,
            w);
  };
  auto scaled = [&](uint16_t w) { return bfq ? uint64_t{w} : blkio_weight_to_io_weight(w); };
  if (is_set(b.weight)) {
    const char* f = weight_file(field("weight"), *b.weight);
    write_value(dir, f, fmt::format("default {}", scaled(*b.weight)), field("weight"),
                std::to_string(*b.weight));
  }
  if (is_set(b.leaf_weight))
    log::warn("{}: cgroup v2 has no leaf weights; ignored", field("leafWeight"));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& d = b.weight_device[i];
    if (!is_set(d.weight)) continue;
    std::string path = item("weightDevice", i) + ".weight";
    write_value(dir, weight_file(path, *d.weight),
                fmt::format("{}:{} {}", d.major, d.minor, scaled(*d.weight)), path,
                fmt::format("{}:{} {}", d.major, d.minor, *d.weight));
  }
  for (const auto& t : throttles(b))
    for (size_t i = 0; i < t.list->size(); ++i) {
      const auto& d = (*t.list)[i];
      std::string rate = d.rate == 0 ? "max" : std::to_string(d.rate);
      write_value(dir, "io.max", fmt::format("{}:{} {}={}", d.major, d.minor, t.v2_key, rate),
                  item(t.json_name, i), fmt::format("{}:{} {}", d.major, d.minor, d.rate));
    }
}

// "8:0 Read 4096" lines, and a "Total N" line, which runc leaves out.
std::vector<BlkioEntry> read_v1_entries(const std::string& dir, const char* file) {
  std::vector<BlkioEntry> out;
  for (const auto& line : split(read_value(dir, file).value_or(""), '\n')) {
    auto f = split(line, ' ');
    if (f.size() != 3) continue;
    auto colon = f[0].find(':');
    if (colon == std::string::npos) continue;
    BlkioEntry e;
    e.major = parse_u64(f[0].substr(0, colon)).value_or(0);
    e.minor = parse_u64(f[0].substr(colon + 1)).value_or(0);
    e.op = f[1];
    e.value = parse_u64(f[2]).value_or(0);
    out.push_back(e);
  }
  return out;
}

void stats_v1(const std::string& dir, Stats& s) {
  // The throttle layer counts every bio, whatever the device's scheduler.
  s.blkio.service_bytes = read_v1_entries(dir, "blkio.throttle.io_service_bytes_recursive");
  s.blkio.serviced = read_v1_entries(dir, "blkio.throttle.io_serviced_recursive");
}

void stats_v2(const std::string& dir, Stats& s) {
  // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"
  for (const auto& line : split(read_value(dir, "io.stat").value_or(""), '\n')) {
    auto f = split(line, ' ');
    if (f.empty()) continue;
    auto colon = f[0].find(':');
    if (colon == std::string::npos) continue;
    uint64_t major = parse_u64(f[0].substr(0, colon)).value_or(0),
             minor = parse_u64(f[0].substr(colon + 1)).value_or(0);
    for (size_t i = 1; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      if (eq == std::string::npos) continue;
      std::string key = f[i].substr(0, eq);
      uint64_t v = parse_u64(f[i].substr(eq + 1)).value_or(0);
      if (key == "rbytes")
        s.blkio.service_bytes.push_back({major, minor, "Read", v});
      else if (key == "wbytes")
        s.blkio.service_bytes.push_back({major, minor, "Write", v});
      else if (key == "rios")
        s.blkio.serviced.push_back({major, minor, "Read", v});
      else if (key == "wios")
        s.blkio.serviced.push_back({major, minor, "Write", v});
    }
  }
}

}  // namespace

extern const Controller kBlkioController = {"blkio",  "io",     kPath,    applies,
                                            apply_v1, apply_v2, stats_v1, stats_v2};

}  // namespace hull::cgroup
