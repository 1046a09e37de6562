// The image store: content-addressed, shared by every image and container.
//
//   ROOT ($HULL_STATE/images, default /var/lib/hull/images)
//     blobs/sha256/HEX        manifests, configs and layers as they came (compressed or not)
//     layers/HEX/             one per chain id, published whole by a rename:
//       layer.json            diff_id, blob digest, media type, sizes
//       root/                 the unpacked files (overlay whiteouts): an overlayfs lower dir
//     images/HEX.json         one record per image, keyed by its manifest digest
//     names.json              full reference ("docker.io/library/alpine:latest") -> manifest
//     tmp/                    work in progress; only ever renamed into place
//     locks/                  flock files: one per blob and per layer, "names", and "store"
//
// Crash safety: nothing under blobs/, layers/ or images/ exists until it is complete (written
// under tmp/, verified, renamed), so a kill -9 or ENOSPC at any moment leaves the old store or
// the new one; what it left in tmp/ is removed by the next prune. Reference counts are derived,
// not stored: a layer or blob is in use while an image record names it (or a container, which
// the caller tells prune), so no counter can go stale after a crash.
//
// Concurrency: writers hold the "store" lock shared for the whole of an operation (a load, a
// pull: layers are published before the image record that names them); prune and image removal
// take it exclusive, so they never collect a layer a writer has published but not yet recorded.
// A starting container (hull run) holds it shared too, from finding its image until its own
// record names the layers; prune asks who uses which layer only once it holds the lock, so a
// layer a container is about to mount is never collected, and rmi sees every such user.
// Two writers of one layer or blob serialise on its own lock: one unpacks, the other finds it
// present. No lock is global while a layer unpacks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace hull::image {

struct LayerInfo {
  std::string chain_id;    // where it is stored
  std::string diff_id;     // sha256 of the uncompressed tar
  std::string digest;      // sha256 of the blob as it came (== diff_id when uncompressed)
  std::string media_type;  // of the blob, as the manifest names it
  int64_t size = 0;        // bytes of the blob
  int64_t unpacked_size = 0;
};

struct ImageRecord {
  std::string manifest_digest;     // the key; names point here
  std::string config_digest;       // docker's IMAGE ID
  std::string created;             // the config's "created"
  std::vector<LayerInfo> layers;   // base first
  std::vector<std::string> names;  // full references, filled in from names.json when read
};

class Store {
 public:
  explicit Store(std::string root);
  // $HULL_STATE/images
  static std::string root_for(const std::string& state_dir) { return state_dir + "/images"; }
  const std::string& root() const { return root_; }

  // Held (shared) by a writer for the whole of a load or pull, and by a starting container;
  // exclusive by prune and image removal. See the top of this file.
  Fd writer_lock() const;
  Fd exclusive_lock() const;

  // --- blobs ---
  bool has_blob(std::string_view digest) const;
  std::string blob_path(std::string_view digest) const;
  std::string read_blob(std::string_view digest) const;
  // Streams fd to its end into the store and returns the digest. With `expected` (a digest)
  // a mismatch keeps nothing and names both digests. Present already: read through, kept once.
  std::string put_blob(int fd, std::string_view expected = {});
  std::string put_blob_data(std::string_view data, std::string_view expected = {});

  // --- layers ---
  bool has_layer(std::string_view chain_id) const;
  std::optional<LayerInfo> layer(std::string_view chain_id) const;
  // The unpacked files of a stored layer (an overlay lower dir).
  std::string layer_root(std::string_view chain_id) const;

  struct LayerSource {
    int fd = -1;               // a file or pipe; read to its end
    std::string digest;        // expected digest of the stream; empty: not checked
    std::string diff_id;       // expected diff_id; empty: computed (hull import)
    std::string parent_chain;  // chain id of the layer below, empty for the base
    std::string media_type;    // recorded as given (the format is detected from the data)
    bool keep_blob = true;     // also store the stream as blob `digest` (for save and push)
    // fd is a regular file under this store's tmp/ that nobody else writes (`hull load` unpacked
    // the archive there): once verified, the blob is that file hard-linked, not a copy of it.
    bool fd_is_ours = false;
    // With fd < 0: opens the stream (a download), called under the layer's lock and only when
    // the layer is not stored yet, so a layer already here is never fetched. Needs diff_id.
    std::function<int()> open;
  };
  // Unpacks a tar (gzip, zstd or none) while hashing the stream and the tar, verifies both and
  // publishes the layer, or removes everything and throws naming the digests. A layer already
  // present is read through (to verify the stream) but not unpacked again.
  LayerInfo import_layer(const LayerSource& source);

  // --- images ---
  // Writes the record, then points each name (a full reference) at it, taking a name from the
  // image that had it. The layers and the manifest and config blobs must be in the store.
  void record_image(const ImageRecord& record, const std::vector<std::string>& names);
  std::optional<ImageRecord> image(std::string_view manifest_digest) const;
  std::vector<ImageRecord> images() const;
  // Finds an image by reference ("alpine", "alpine:3", "x@sha256:..."), full or prefix
  // (>= 4 hex digits) IMAGE ID (the config digest), or manifest digest. nullopt: not here.
  std::optional<ImageRecord> find(std::string_view ref) const;
  void tag(std::string_view manifest_digest, const std::string& full_name);
  // Removes a name; false when it did not exist.
  bool untag(const std::string& full_name);
  // Removes an image's record and names (not its layers: prune does that).
  void remove_image(std::string_view manifest_digest);

  struct PruneResult {
    int64_t freed_bytes = 0;
    int layers = 0, blobs = 0, temporaries = 0;
  };
  // Removes layers and blobs no image names and no chain id in `in_use` (containers) needs,
  // and whatever interrupted writers left in tmp/. Takes the store lock exclusively.
  PruneResult prune(const std::set<std::string>& in_use);
  // The same, with `in_use` asked for under the exclusive lock (the caller's, when `held` is
  // true: it holds exclusive_lock()).
  PruneResult prune_with(const std::function<std::set<std::string>()>& in_use, bool held = false);

  struct Usage {
    int64_t layers_bytes = 0, blobs_bytes = 0;
    int layers = 0, blobs = 0;
  };
  Usage usage() const;

 private:
  std::string tmp_dir() const;
  Fd lock_file(const std::string& name, int how) const;
  std::map<std::string, std::string> read_names() const;
  void write_names(const std::map<std::string, std::string>& names) const;
  std::string root_;
};

// Disk use of a directory tree (st_blocks), not following symlinks.
int64_t disk_usage(const std::string& path);

}  // namespace hull::image
