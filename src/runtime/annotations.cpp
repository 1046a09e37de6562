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
  if (v != "tmpfs")
    fail("annotations.{}: unknown value {} (want tmpfs)", kOverlayRootAnnotation, quote(v));
  return true;
}

bool wants_pid1_init(const oci::Spec& spec) {
  return flag_annotation(spec, kInitAnnotation);
}

bool wants_exclusive_cgroup(const oci::Spec& spec) {
  return flag_annotation(spec, kExclusiveCgroupAnnotation);
}

}  // namespace hull::runtime
