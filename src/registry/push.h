// `hull push`: an image of the store to a registry, docker's way: each blob the registry
// lacks (a HEAD first), mounted from another repository of the same registry when one of the
// store's images came from there, else uploaded: whole, or in chunks when it is large or
// the registry refuses it whole (push.cpp); the manifest last, so the tag never names an
// image whose blobs are not all there.
#pragma once

#include <string>

#include "image/store.h"
#include "registry/progress.h"

namespace hull::registry {

struct PushResult {
  std::string full_name, manifest_digest;
  int64_t manifest_size = 0;
  int uploaded = 0, mounted = 0, present = 0;
};

// `reference` names an image in the store and where it goes (its registry and repository).
PushResult push_image(const image::Store& store, const std::string& reference, Progress* progress);

}  // namespace hull::registry
