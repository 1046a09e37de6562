#include "image/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "image/config.h"
#include "image/digest.h"
#include "image/libarchive.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "image/tar_writer.h"
#include "image/unpack.h"
#include "linux/syscalls.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::image {

using nlohmann::json;

namespace {

using namespace media;

// Opens a file of an unpacked archive or layout: symlinks (docker-archive links repeated
// layers) resolve inside it, never out.
Fd open_in(int dir, const std::string& path) {
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = sys::openat2(dir, path.c_str(), &how);
  if (fd < 0) fail_errno("open {} in the archive", quote(path));
  return Fd(fd);
}

std::string read_in(int dir, const std::string& path) {
  Fd fd = open_in(dir, path);
  return read_fd(fd.get());
}

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: {}", what, e.what());
  }
}

std::string blob_file(const std::string& digest) {
  return "blobs/sha256/" + digest_hex(digest);
}

std::string head_of(int fd) {
  char buf[4] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  return std::string(buf, n > 0 ? n : 0);
}

// Imports the layers of one image (base first) and returns their records.
std::vector<LayerInfo> import_layers(Store& store, int dir, const std::vector<std::string>& files,
                                     const std::vector<std::string>& digests,
                                     const std::vector<std::string>& media_types,
                                     const std::vector<std::string>& diff_ids, bool ours) {
  if (files.size() != diff_ids.size())
    fail("the image has {} layers but its config lists {} diff_ids", files.size(), diff_ids.size());
  std::vector<LayerInfo> out;
  std::string parent;
  for (size_t i = 0; i < files.size(); i++) {
    Fd fd = open_in(dir, files[i]);
    std::string media = media_types.empty() ? layer_media_type(head_of(fd.get())) : media_types[i];
    LayerInfo l = with_context(fmt::format("layer {}", files[i]), [&] {
      Store::LayerSource src{fd.get(), digests.empty() ? "" : digests[i], diff_ids[i], parent,
                             media};
      src.fd_is_ours = ours;
      return store.import_layer(src);
    });
    parent = l.chain_id;
    out.push_back(l);
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(parse_reference(r).full());
  return out;
}

LoadedImage record(Store& store, const std::string& manifest_digest, const std::string& config,
                   const std::string& config_digest, std::vector<LayerInfo> layers,
                   const std::vector<std::string>& names) {
  ImageRecord r;
  r.manifest_digest = manifest_digest;
  r.config_digest = config_digest;
  r.created = parse_image_config(config).created;
  r.layers = std::move(layers);
  store.record_image(r, names);
  return {manifest_digest, config_digest, names};
}

// An OCI manifest for an image that came without one (docker-archive, import).
std::string synthesize_manifest(const std::string& config_digest, size_t config_size,
                                const std::vector<LayerInfo>& layers) {
  json ls = json::array();
  for (const auto& l : layers)
    ls.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
  json m = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"config", {{"mediaType", kOciConfig}, {"digest", config_digest}, {"size", config_size}}},
      {"layers", ls}};
  return m.dump();
}

// ours: dir is the archive unpacked under the store's tmp/ (LayerSource::fd_is_ours).
std::vector<LoadedImage> load_docker_archive(Store& store, int dir, bool ours) {
  json manifest = parse_json(read_in(dir, "manifest.json"), "manifest.json");
  if (!manifest.is_array()) fail("manifest.json: not an array");
  std::vector<LoadedImage> out;
  for (size_t i = 0; i < manifest.size(); i++) {
    const json& m = manifest[i];
    std::string where = fmt::format("manifest.json[{}]", i);
    if (!m.contains("Config") || !m["Config"].is_string()) fail("{}.Config: missing", where);
    std::string config = read_in(dir, m["Config"].get<std::string>());
    std::string config_digest = store.put_blob_data(config);
    // The file is named by its digest: hold it to that.
    std::string cfg_name = basename_of(m["Config"].get<std::string>());
    if (cfg_name.size() >= 64 && cfg_name.substr(0, 64) != digest_hex(config_digest))
      fail("{}.Config: {} does not match its content ({})", where, cfg_name, config_digest);
    std::vector<std::string> files;
    for (const auto& l : m.value("Layers", json::array())) files.push_back(l.get<std::string>());
    ImageConfig c = with_context(where, [&] { return parse_image_config(config); });
    auto layers = import_layers(store, dir, files, {}, {}, c.diff_ids, ours);
    std::string man = synthesize_manifest(config_digest, config.size(), layers);
    std::string man_digest = store.put_blob_data(man);
    std::vector<std::string> tags;
    for (const auto& t : m.value("RepoTags", json::array()))
      if (t.is_string()) tags.push_back(t.get<std::string>());
    out.push_back(record(store, man_digest, config, config_digest, layers, names_of(tags)));
  }
  return out;
}

// One manifest of an OCI layout (or a docker v2s2 one there), its blobs verified.
LoadedImage load_oci_manifest(Store& store, int dir, const std::string& digest,
                              const std::vector<std::string>& names, bool ours) {
  std::string text = read_in(dir, blob_file(digest));
  store.put_blob_data(text, digest);
  json m = parse_json(text, "manifest " + digest);
  if (!m.contains("config") || !m["config"].contains("digest"))
    fail("manifest {}: no config", digest);
  std::string config_digest = m["config"]["digest"].get<std::string>();
  check_digest(config_digest, "manifest config");
  std::string config = read_in(dir, blob_file(config_digest));
  store.put_blob_data(config, config_digest);
  std::vector<std::string> files, digests, media;
  for (const auto& l : m.value("layers", json::array())) {
    std::string d = l.value("digest", "");
    check_digest(d, "manifest layer");
    files.push_back(blob_file(d));
    digests.push_back(d);
    media.push_back(l.value("mediaType", ""));
  }
  ImageConfig c = parse_image_config(config);
  auto layers = import_layers(store, dir, files, digests, media, c.diff_ids, ours);
  return record(store, digest, config, config_digest, layers, names);
}

std::vector<LoadedImage> load_oci_layout(Store& store, int dir, bool ours) {
  json index = parse_json(read_in(dir, "index.json"), "index.json");
  std::vector<LoadedImage> out;
  for (const auto& desc : index.value("manifests", json::array())) {
    std::string digest = desc.value("digest", "");
    check_digest(digest, "index.json manifest");
    std::vector<std::string> names;
    json ann = desc.value("annotations", json::object());
    std::string name = ann.value("io.containerd.image.name", "");
    std::string ref = ann.value("org.opencontainers.image.ref.name", "");
    if (name.empty() && ref.find_first_of(":/") != std::string::npos) name = ref;
    if (!name.empty()) names.push_back(parse_reference(name).full());
    std::string media = desc.value("mediaType", "");
    if (is_index(media)) {
      json idx = parse_json(read_in(dir, blob_file(digest)), "index " + digest);
      std::string arch = host_architecture(), found, platforms;
      for (const auto& d : idx.value("manifests", json::array())) {
        json p = d.value("platform", json::object());
        std::string os = p.value("os", ""), a = p.value("architecture", "");
        platforms += (platforms.empty() ? "" : ", ") + os + "/" + a;
        if (os == "linux" && a == arch && found.empty()) found = d.value("digest", "");
      }
      if (found.empty())
        fail("index {} has no image for linux/{} (it has {})", digest, arch, platforms);
      out.push_back(load_oci_manifest(store, dir, found, names, ours));
    } else {
      out.push_back(load_oci_manifest(store, dir, digest, names, ours));
    }
  }
  return out;
}

std::vector<LoadedImage> load_dir(Store& store, int dir, bool ours) {
  struct stat st;
  // docker >= 25 writes both; manifest.json carries the names.
  if (::fstatat(dir, "manifest.json", &st, 0) == 0) return load_docker_archive(store, dir, ours);
  if (::fstatat(dir, "index.json", &st, 0) == 0) return load_oci_layout(store, dir, ours);
  fail("not an image archive: neither manifest.json (docker-archive) nor index.json (OCI)");
}

}  // namespace

std::string layer_media_type(const std::string& head) {
  if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b') return kOciLayerGzip;
  if (head.size() >= 4 && head.substr(0, 4) == "\x28\xb5\x2f\xfd") return kOciLayerZstd;
  return kOciLayer;
}

std::vector<LoadedImage> load_images(Store& store, const std::string& path) {
  Fd writer = store.writer_lock();
  struct stat st;
  if (!path.empty() && path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    Fd dir = open_or_fail(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return load_dir(store, dir.get(), false);  // the user's files: copied, never linked
  }
  Fd in = (path.empty() || path == "-") ? Fd(::dup(0)) : open_or_fail(path, O_RDONLY | O_CLOEXEC);
  // The archive is unpacked (safely: it is hostile input too) into tmp/, then read from there:
  // a docker-archive may list its manifest.json last.
  std::string tmp = store.root() + "/tmp/load-XXXXXX";
  if (!::mkdtemp(tmp.data())) fail_errno("create {}", tmp);
  ScopeGuard remove_tmp([&] { remove_all(tmp); });
  Fd dir = open_or_fail(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const Archive& la = libarchive();
  struct archive* a = la.read_new();
  ScopeGuard free_a([&] { la.read_free(a); });
  la.read_support_filter_all(a);
  la.read_support_format_tar(a);
  if (la.read_open_fd(a, in.get(), 1 << 20) != ARCHIVE_OK)
    fail("read {}: {}", path, la.error_string(a));
  with_context(fmt::format("read {}", path.empty() ? "stdin" : path),
               [&] { unpack_tar(a, dir.get()); });
  return load_dir(store, dir.get(), true);
}

LoadedImage import_rootfs(Store& store, int fd, const std::string& full_name) {
  Fd writer = store.writer_lock();
  LayerInfo l = store.import_layer({fd, "", "", "", ""});
  std::string config =
      json{{"architecture", host_architecture()},
           {"os", "linux"},
           {"created", rfc3339_now()},
           {"config", json::object()},
           {"rootfs", {{"type", "layers"}, {"diff_ids", {l.diff_id}}}},
           {"history", {{{"created", rfc3339_now()}, {"comment", "imported by hull"}}}}}
          .dump();
  // The media type follows from what the blob turned out to be.
  if (l.media_type.empty()) {
    Fd blob = open_or_fail(store.blob_path(l.digest), O_RDONLY | O_CLOEXEC);
    l.media_type = layer_media_type(head_of(blob.get()));
  }
  std::string config_digest = store.put_blob_data(config);
  std::string man = synthesize_manifest(config_digest, config.size(), {l});
  std::string man_digest = store.put_blob_data(man);
  std::vector<std::string> names;
  if (!full_name.empty()) names.push_back(full_name);
  return record(store, man_digest, config, config_digest, {l}, names);
}

void save_images(const Store& store, const std::vector<SaveItem>& items, SaveFormat format,
                 int fd) {
  TarWriter w(fd);
  auto add_blob = [&](const std::string& digest, const std::string& path) {
    Fd b = open_or_fail(store.blob_path(digest), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (::fstat(b.get(), &st) < 0) fail_errno("stat blob {}", digest);
    w.file_from_fd(path, b.get(), st.st_size);
  };
  std::set<std::string> written;
  if (format == SaveFormat::docker_archive) {
    json manifest = json::array();
    for (const auto& it : items) {
      std::string cfg = digest_hex(it.image.config_digest) + ".json";
      if (written.insert(cfg).second) add_blob(it.image.config_digest, cfg);
      json layers = json::array();
      for (const auto& l : it.image.layers) {
        std::string path = digest_hex(l.digest) + "/layer.tar";
        if (written.insert(path).second) add_blob(l.digest, path);
        layers.push_back(path);
      }
      json tags = json::array();
      for (const auto& n : it.names) tags.push_back(familiar(n));
      manifest.push_back({{"Config", cfg}, {"RepoTags", tags}, {"Layers", layers}});
    }
    w.file("manifest.json", manifest.dump());
  } else {
    w.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", json::array()}};
    for (const auto& it : items) {
      std::vector<std::string> blobs = {it.image.manifest_digest, it.image.config_digest};
      for (const auto& l : it.image.layers) blobs.push_back(l.digest);
      for (const auto& b : blobs)
        if (written.insert(b).second) add_blob(b, blob_file(b));
      std::string man = store.read_blob(it.image.manifest_digest);
      json mj = parse_json(man, "manifest");
      json desc = {{"mediaType", mj.value("mediaType", kOciManifest)},
                   {"digest", it.image.manifest_digest},
                   {"size", man.size()}};
      if (it.names.empty()) {
        index["manifests"].push_back(desc);
        continue;
      }
      for (const auto& n : it.names) {
        desc["annotations"] = {{"io.containerd.image.name", n},
                               {"org.opencontainers.image.ref.name", n}};
        index["manifests"].push_back(desc);
      }
    }
    w.file("index.json", index.dump());
  }
  w.close();
}

}  // namespace hull::image
