// Image references as docker reads them: "alpine" is docker.io/library/alpine:latest,
// "localhost:5000/app:v1" names its registry, "name@sha256:..." pins a manifest. The store keeps
// the full form; people see docker's short one.
#pragma once

#include <string>
#include <string_view>

namespace hull::image {

struct Reference {
  std::string domain;      // "docker.io", "localhost:5000"
  std::string repository;  // "library/alpine"
  std::string tag;         // "latest" unless a digest alone was given
  std::string digest;      // "sha256:..." or empty

  // "docker.io/library/alpine:latest" (or "...@sha256:..." when only a digest was given).
  std::string full() const;
  // "docker.io/library/alpine"
  std::string name() const { return domain + "/" + repository; }
  // docker's REPOSITORY column: "alpine", "user/app", "localhost:5000/app".
  std::string familiar_name() const;
};

// Parses and normalises; throws "invalid reference format: REF" as docker does.
Reference parse_reference(std::string_view ref);
// For stored full names: "docker.io/library/alpine:latest" -> {"alpine", "latest"}.
std::string familiar(std::string_view full_name);

}  // namespace hull::image
