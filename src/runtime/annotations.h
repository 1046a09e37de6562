// hull's own annotations (config.json "annotations"): extensions of runtime-spec that the
// friendly face sets and the OCI face honours too. Unknown values are refused.
#pragma once

#include <string>

#include "oci/spec.h"

namespace hull::runtime {

// "tmpfs": root.path is the read-only lower layer of an overlay whose writable layer is a
// tmpfs private to the container: every write is gone when the container is.
inline constexpr const char* kOverlayRootAnnotation = "io.github.hull.rootfs.overlay";
// "true": PID 1 is hull's own small init that reaps zombies and forwards signals to the
// process, which runs as its child (docker's --init).
inline constexpr const char* kInitAnnotation = "io.github.hull.init";
// The friendly face's name for the container (shown by `hull-oci list` users, informational).
inline constexpr const char* kNameAnnotation = "io.github.hull.name";

// "true": refuse a linux.cgroupsPath that already holds processes. Without it such a cgroup is
// shared with a warning, as runc does (engines put several containers in one on purpose).
inline constexpr const char* kExclusiveCgroupAnnotation = "io.github.hull.cgroup.exclusive";

bool wants_overlay_root(const oci::Spec& spec);
bool wants_exclusive_cgroup(const oci::Spec& spec);
bool wants_pid1_init(const oci::Spec& spec);

}  // namespace hull::runtime
