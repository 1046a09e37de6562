// hugetlb: a limit per huge page size ("2MB", "1GB").
#include <dirent.h>

#include "cgroup/controller.h"
#include "util/error.h"
#include "util/strings.h"

namespace hull::cgroup {
namespace {

bool applies(const oci::Resources& r) {
  return !r.hugepage_limits.empty();
}

// The host's sizes as the cgroup files name them: hugepages-2048kB -> "2MB".
std::vector<std::string> host_page_sizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("hugepages-", 0) != 0 || n.size() < 13) continue;
    auto kb = parse_u64(n.substr(10, n.size() - 12));
    if (!kb) continue;
    if (*kb >= 1048576)
      out.push_back(fmt::format("{}GB", *kb / 1048576));
    else if (*kb >= 1024)
      out.push_back(fmt::format("{}MB", *kb / 1024));
    else
      out.push_back(fmt::format("{}KB", *kb));
  }
  ::closedir(d);
  return out;
}

void check_size(const std::string& size, size_t i, const std::vector<std::string>& sizes) {
  for (const auto& s : sizes)
    if (s == size) return;
  fail_as(ErrorKind::invalid_config,
          "linux.resources.hugepageLimits[{}].pageSize: {}: not a huge page size of this host ({})",
          i, quote(size), sizes.empty() ? "it has none" : join(sizes, ", "));
}

void apply(const std::string& dir, const oci::Resources& r, const char* suffix) {
  auto sizes = host_page_sizes();
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i)
    check_size(r.hugepage_limits[i].page_size, i, sizes);
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const auto& l = r.hugepage_limits[i];
    std::string file = fmt::format("hugetlb.{}.{}", l.page_size, suffix);
    write_value(dir, file.c_str(), std::to_string(l.limit),
                fmt::format("linux.resources.hugepageLimits[{}].limit", i));
  }
}

void apply_v1(const std::string& dir, const oci::Resources& r, bool) {
  apply(dir, r, "limit_in_bytes");
}
void apply_v2(const std::string& dir, const oci::Resources& r, bool) {
  apply(dir, r, "max");
}

void stats_v1(const std::string& dir, Stats& s) {
  for (const auto& size : host_page_sizes()) {
    std::string p = "hugetlb." + size;
    s.hugetlb[size] = {read_u64(dir, (p + ".usage_in_bytes").c_str()),
                       read_u64(dir, (p + ".max_usage_in_bytes").c_str()),
                       read_u64(dir, (p + ".failcnt").c_str())};
  }
}

void stats_v2(const std::string& dir, Stats& s) {
  for (const auto& size : host_page_sizes()) {
    std::string p = "hugetlb." + size;
    s.hugetlb[size] = {read_u64(dir, (p + ".current").c_str()), 0,
                       read_keyed(dir, (p + ".events").c_str())["max"]};
  }
}

}  // namespace

extern const Controller kHugetlbController = {
    "hugetlb", "hugetlb", "linux.resources.hugepageLimits", applies, apply_v1, apply_v2,
    stats_v1,  stats_v2};

}  // namespace hull::cgroup
