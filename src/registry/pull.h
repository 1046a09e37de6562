// `hull pull`: an image from a registry into the store (image/store.h). The manifest (an index
// or manifest list resolved to one platform's), then the config, then the layers the store
// lacks, 3 at a time, each unpacked by the store's verified import while it downloads (a
// socket pair between the download and the unpacking), so no layer is ever on disk twice or
// half. The image is recorded only when every layer is in; a pull that stops keeps the layers
// it finished, and the next one fetches only the rest.
#pragma once

#include <string>

#include "image/store.h"
#include "registry/progress.h"

namespace hull::registry {

struct PullOptions {
  std::string platform;  // "os/arch[/variant]"; empty: linux and the host's architecture
  Progress* progress = nullptr;
  int parallel = 3;
};

struct PullResult {
  std::string full_name;        // "docker.io/library/alpine:latest"
  std::string manifest_digest;  // of the platform's manifest (what the store keys on)
  std::string config_digest;
  bool downloaded = false;  // false: the image was here already
};

PullResult pull_image(image::Store& store, const std::string& reference, const PullOptions& o);

struct Platform {
  std::string os, architecture, variant;
  std::string text() const;
};
// "linux/arm64/v8"; empty: the host's. Throws naming the value.
Platform parse_platform(const std::string& text);

}  // namespace hull::registry
