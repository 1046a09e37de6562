// The friendly face's image verbs (docker's names and output) over the image store
// (image/store.h): images, rmi, tag, load, save, import, image inspect, image prune, system df;
// and the one place where `hull run IMAGE` decides an image is not here (resolve_image).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "frontend/store.h"
#include "image/config.h"
#include "image/store.h"

namespace hull::frontend {

image::Store image_store(const Env& env);

struct ResolvedImage {
  image::ImageRecord record;
  image::ImageConfig config;
};
// Finds `ref` in the store, pulling it as docker's --pull says: "missing" (an image not in the
// store is pulled), "always" (pulled first, so the tag's current image), "never".
ResolvedImage resolve_image(const Env& env, const std::string& ref,
                            const std::string& pull = "missing");
// The same with a store the caller has open already (`run` opens it once: its constructor
// makes the store's directories).
ResolvedImage resolve_image(const Env& env, const image::Store& store, const std::string& ref,
                            const std::string& pull);

// The chain ids of every container's layers: kept by prune even when no image names them.
std::set<std::string> layers_in_use(const Env& env);

struct ImagesOptions {
  bool quiet = false, digests = false, all = false;
  std::string format;  // "" (table) or "json"
};
std::string images_text(const Env& env, const ImagesOptions& o);
// Each line docker prints: "Untagged: ...", "Deleted: sha256:...".
std::vector<std::string> remove_images(const Env& env, const std::vector<std::string>& refs,
                                       bool force);
void tag_image(const Env& env, const std::string& source, const std::string& target);
// "Loaded image: busybox:latest" lines ("Loaded image ID: sha256:..." for unnamed ones).
std::vector<std::string> load_archive(const Env& env, const std::string& path);
// Returns the new image's id.
std::string import_tarball(const Env& env, const std::string& path, const std::string& ref);
void save_archive(const Env& env, const std::vector<std::string>& refs, const std::string& out,
                  const std::string& format);
std::string image_inspect(const Env& env, const std::string& ref, bool json);
std::string prune_images(const Env& env);
std::string system_df(const Env& env);

}  // namespace hull::frontend
