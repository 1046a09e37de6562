// hull's own annotations (config.json "annotations"): extensions of runtime-spec that the
// friendly face sets and the OCI face honours too. Unknown values are refused.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace hull::runtime {

// "tmpfs": root.path is the read-only lower layer of an overlay whose writable layer is a
// tmpfs private to the container: every write is gone when the container is.
// "layers": an image's root: the lower layers are the directories named by
// kOverlayLowersAnnotation, and root.path holds the writable layer (upper/ and work/), which
// outlives the container's runs (docker's container layer).
inline constexpr const char* kOverlayRootAnnotation = "io.github.hull.rootfs.overlay";
// With "layers": the lower directories, top first, separated by ':' (overlayfs' lowerdir).
inline constexpr const char* kOverlayLowersAnnotation = "io.github.hull.rootfs.lowers";
// "true": PID 1 is hull's own small init that reaps zombies and forwards signals to the
// process, which runs as its child (docker's --init).
inline constexpr const char* kInitAnnotation = "io.github.hull.init";
// The friendly face's name for the container (shown by `hull-oci list` users, informational).
inline constexpr const char* kNameAnnotation = "io.github.hull.name";

// "true": refuse a linux.cgroupsPath that already holds processes. Without it such a cgroup is
// shared with a warning, as runc does (engines put several containers in one on purpose).
inline constexpr const char* kExclusiveCgroupAnnotation = "io.github.hull.cgroup.exclusive";

bool wants_overlay_root(const oci::Spec& spec);
// The lower directories of a "layers" overlay root (empty for "tmpfs"); each absolute and
// free of what overlayfs' option syntax cannot carry.
std::vector<std::string> overlay_lowers(const oci::Spec& spec);
bool wants_exclusive_cgroup(const oci::Spec& spec);
bool wants_pid1_init(const oci::Spec& spec);

}  // namespace hull::runtime
