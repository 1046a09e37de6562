// Image archives in and out of the store: what `docker save` and `podman save` write
// (docker-archive), oci-archive and OCI layout directories, plain or gzip'd; and a root file
// system tarball as a one-layer image (`hull import`).
#pragma once

#include <string>
#include <vector>

#include "image/store.h"

namespace hull::image {

struct LoadedImage {
  std::string manifest_digest, config_digest;
  std::vector<std::string> names;  // full references
};

// `path` is an archive file (or "-"/"" for stdin) or an OCI layout directory. Every image in
// it is stored, its layers verified against the config's diff_ids (and the manifest's digests
// where the format has them).
std::vector<LoadedImage> load_images(Store& store, const std::string& path);

// One layer from a root file system tarball (any compression), with an empty run config.
LoadedImage import_rootfs(Store& store, int fd, const std::string& full_name);

enum class SaveFormat { docker_archive, oci_archive };
struct SaveItem {
  ImageRecord image;
  std::vector<std::string> names;  // full references to write for it
};
// Writes the images' blobs as an archive to fd.
void save_images(const Store& store, const std::vector<SaveItem>& items, SaveFormat format, int fd);

// OCI media types by what a layer blob starts with.
std::string layer_media_type(const std::string& head);

}  // namespace hull::image
