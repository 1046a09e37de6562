// The parts of an OCI image config (and Docker's, the same JSON) that running and listing an
// image need. Unknown fields are ignored, as docker does.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hull::image {

struct ImageConfig {
  std::string architecture, os, variant, created, author;
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::vector<std::string> exposed_ports, volumes;  // "80/tcp", "/data"
  std::map<std::string, std::string> labels;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, base first
};

// Throws "image config: ..." naming the field on malformed JSON.
ImageConfig parse_image_config(const std::string& text);

// The architecture name OCI uses for this machine ("amd64", "arm64", ...).
std::string host_architecture();

}  // namespace hull::image
