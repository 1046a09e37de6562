#include "runtime/annotations.h"

#include "util/error.h"
#include "util/strings.h"

namespace hull::runtime {
namespace {

std::string annotation(const oci::Spec& spec, const char* key) {
  auto it = spec.annotations.find(key);
  return it == spec.annotations.end() ? std::string() : it->second;
}

bool flag_annotation(const oci::Spec& spec, const char* key) {
  std::string v = annotation(spec, key);
  if (v.empty() || v == "false") return false;
  if (v != "true") fail("annotations.{}: unknown value {} (want true or false)", key, quote(v));
  return true;
}

}  // namespace

bool wants_overlay_root(const oci::Spec& spec) {
  std::string v = annotation(spec, kOverlayRootAnnotation);
  if (v.empty()) return false;
  if (v != "tmpfs" && v != "layers")
    fail("annotations.{}: unknown value {} (want tmpfs or layers)", kOverlayRootAnnotation,
         quote(v));
  return true;
}

std::vector<std::string> overlay_lowers(const oci::Spec& spec) {
  if (annotation(spec, kOverlayRootAnnotation) != "layers") return {};
  std::string v = annotation(spec, kOverlayLowersAnnotation);
  if (v.empty()) fail("annotations.{}: required with layers", kOverlayLowersAnnotation);
  auto lowers = split(v, ':');
  for (const auto& l : lowers)
    if (l.empty() || l[0] != '/' || l.find_first_of(",\\") != std::string::npos)
      fail("annotations.{}: {} is not an absolute path overlayfs can take",
           kOverlayLowersAnnotation, quote(l));
  return lowers;
}

bool wants_pid1_init(const oci::Spec& spec) {
  return flag_annotation(spec, kInitAnnotation);
}

bool wants_exclusive_cgroup(const oci::Spec& spec) {
  return flag_annotation(spec, kExclusiveCgroupAnnotation);
}

}  // namespace hull::runtime
