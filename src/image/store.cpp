#include "image/store.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"

namespace hull::image {

using nlohmann::json;

namespace {

// The start of a hex string ("sha256:" stripped) an IMAGE ID prefix may name.
bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

json layer_to_json(const LayerInfo& l) {
  return {{"chain_id", l.chain_id},     {"diff_id", l.diff_id}, {"digest", l.digest},
          {"media_type", l.media_type}, {"size", l.size},       {"unpacked_size", l.unpacked_size}};
}

LayerInfo layer_from_json(const json& j) {
  LayerInfo l;
  l.chain_id = j.value("chain_id", "");
  l.diff_id = j.value("diff_id", "");
  l.digest = j.value("digest", "");
  l.media_type = j.value("media_type", "");
  l.size = j.value("size", int64_t{0});
  l.unpacked_size = j.value("unpacked_size", int64_t{0});
  return l;
}

int64_t g_usage = 0;
int add_usage(const char*, const struct stat* st, int, struct FTW*) {
  g_usage += static_cast<int64_t>(st->st_blocks) * 512;
  return 0;
}

}  // namespace

int64_t disk_usage(const std::string& path) {
  // nftw has no context pointer; hull is single-threaded.
  g_usage = 0;
  ::nftw(path.c_str(), add_usage, 32, FTW_PHYS);
  return g_usage;
}

Store::Store(std::string root) : root_(std::move(root)) {
  for (const char* d : {"blobs/sha256", "layers", "images", "tmp", "locks"})
    mkdir_p(root_ + "/" + d, 0700);
}

std::string Store::tmp_dir() const {
  return root_ + "/tmp";
}

Fd Store::lock_file(const std::string& name, int how) const {
  std::string path = root_ + "/locks/" + name;
  return open_locked(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600,
                     how == LOCK_SH ? LockMode::shared : LockMode::exclusive);
}

Fd Store::writer_lock() const {
  return lock_file("store", LOCK_SH);
}

// --- blobs ---

std::string Store::blob_path(std::string_view digest) const {
  return root_ + "/blobs/sha256/" + digest_hex(digest);
}

bool Store::has_blob(std::string_view digest) const {
  return valid_digest(digest) && path_exists(blob_path(digest));
}

std::string Store::read_blob(std::string_view digest) const {
  auto text = read_file_if_exists(blob_path(digest));
  if (!text) fail("blob {} is not in the store", digest);
  return *text;
}

std::string Store::put_blob(int fd, std::string_view expected) {
  if (!expected.empty()) check_digest(expected, "blob");
  Fd writer = writer_lock();
  std::string tmp = tmp_dir() + "/blob-XXXXXX";
  Fd out(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!out) fail_errno("create {}", tmp);
  ScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
  Sha256 hash;
  std::vector<char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("read blob");
    }
    if (n == 0) break;
    hash.update(buf.data(), n);
    write_all(out.get(), std::string_view(buf.data(), n), tmp.c_str());
  }
  std::string got = hash.digest();
  if (!expected.empty() && got != expected)
    fail("blob digest mismatch: expected {}, got {}", expected, got);
  if (::fchmod(out.get(), 0444) < 0) fail_errno("chmod {}", tmp);
  Fd lock = lock_file("blob-" + digest_hex(got), LOCK_EX);
  if (!has_blob(got) && ::rename(tmp.c_str(), blob_path(got).c_str()) < 0)
    fail_errno("publish blob {}", got);
  return got;
}

std::string Store::put_blob_data(std::string_view data, std::string_view expected) {
  std::string got = sha256_digest(data);
  if (!expected.empty() && got != expected)
    fail("blob digest mismatch: expected {}, got {}", expected, got);
  if (has_blob(got)) return got;
  Fd writer = writer_lock();
  Fd lock = lock_file("blob-" + digest_hex(got), LOCK_EX);
  if (!has_blob(got)) {
    std::string tmp = tmp_dir() + "/blob-XXXXXX";
    Fd out(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!out) fail_errno("create {}", tmp);
    ScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
    write_all(out.get(), data, tmp.c_str());
    if (::fchmod(out.get(), 0444) < 0) fail_errno("chmod {}", tmp);
    if (::rename(tmp.c_str(), blob_path(got).c_str()) < 0) fail_errno("publish blob {}", got);
  }
  return got;
}

// --- layers ---

std::string Store::layer_root(std::string_view chain_id) const {
  return root_ + "/layers/" + digest_hex(chain_id) + "/root";
}

bool Store::has_layer(std::string_view chain_id) const {
  return valid_digest(chain_id) && path_exists(root_ + "/layers/" + digest_hex(chain_id));
}

std::optional<LayerInfo> Store::layer(std::string_view chain_id) const {
  if (!valid_digest(chain_id)) return std::nullopt;
  auto text = read_file_if_exists(root_ + "/layers/" + digest_hex(chain_id) + "/layer.json");
  if (!text) return std::nullopt;
  return layer_from_json(json::parse(*text));
}

// --- names and images ---

std::map<std::string, std::string> Store::read_names() const {
  auto text = read_file_if_exists(root_ + "/names.json");
  if (!text) return {};
  return json::parse(*text).get<std::map<std::string, std::string>>();
}

void Store::write_names(const std::map<std::string, std::string>& names) const {
  atomic_write(root_ + "/names.json", json(names).dump(2) + "\n", 0600);
}

void Store::record_image(const ImageRecord& r, const std::vector<std::string>& names) {
  Fd writer = writer_lock();
  check_digest(r.manifest_digest, "image manifest");
  check_digest(r.config_digest, "image config");
  for (const auto& d : {r.manifest_digest, r.config_digest})
    if (!has_blob(d)) fail("record image: blob {} is not in the store", d);
  json layers = json::array();
  for (const auto& l : r.layers) {
    if (!has_layer(l.chain_id)) fail("record image: layer {} is not in the store", l.chain_id);
    layers.push_back(layer_to_json(l));
  }
  json j = {{"manifest_digest", r.manifest_digest},
            {"config_digest", r.config_digest},
            {"created", r.created},
            {"layers", layers}};
  atomic_write(root_ + "/images/" + digest_hex(r.manifest_digest) + ".json", j.dump(2) + "\n",
               0600);
  if (names.empty()) return;
  Fd lock = lock_file("names", LOCK_EX);
  auto all = read_names();
  for (const auto& n : names) all[n] = r.manifest_digest;
  write_names(all);
}

std::optional<ImageRecord> Store::image(std::string_view manifest_digest) const {
  if (!valid_digest(manifest_digest)) return std::nullopt;
  auto text = read_file_if_exists(root_ + "/images/" + digest_hex(manifest_digest) + ".json");
  if (!text) return std::nullopt;
  json j = json::parse(*text);
  ImageRecord r;
  r.manifest_digest = j.value("manifest_digest", "");
  r.config_digest = j.value("config_digest", "");
  r.created = j.value("created", "");
  for (const auto& l : j.at("layers")) r.layers.push_back(layer_from_json(l));
  for (const auto& [name, digest] : read_names())
    if (digest == r.manifest_digest) r.names.push_back(name);
  return r;
}

std::vector<ImageRecord> Store::images() const {
  std::vector<ImageRecord> out;
  for (const auto& f : list_dir(root_ + "/images")) {
    if (f.size() != 64 + 5 || f.substr(64) != ".json") continue;  // not an interrupted write
    if (auto r = image("sha256:" + f.substr(0, 64))) out.push_back(std::move(*r));
  }
  return out;
}

std::optional<ImageRecord> Store::find(std::string_view ref) const {
  if (valid_digest(ref)) {
    if (auto r = image(ref)) return r;
    for (auto& r : images())
      if (r.config_digest == ref) return r;
    return std::nullopt;
  }
  // A name first (docker's order), then an IMAGE ID prefix.
  try {
    Reference parsed = parse_reference(ref);
    if (!parsed.digest.empty()) {
      auto r = image(parsed.digest);
      if (r) return r;
      // Pulled by the digest of an index: the name records which platform's image it gave.
      auto names = read_names();
      auto it = names.find(parsed.full());
      if (it != names.end()) return image(it->second);
    } else {
      auto names = read_names();
      auto it = names.find(parsed.full());
      if (it != names.end()) return image(it->second);
    }
  } catch (const Error&) {
    // Not a reference; perhaps an id.
  }
  std::string_view hex = ref.substr(0, 7) == "sha256:" ? ref.substr(7) : ref;
  if (hex.size() < 4 || !is_hex(hex)) return std::nullopt;
  std::optional<ImageRecord> found;
  for (auto& r : images()) {
    if (r.config_digest.compare(7, hex.size(), hex) != 0) continue;
    if (found && found->manifest_digest != r.manifest_digest)
      fail("image id prefix {} is ambiguous", ref);
    found = std::move(r);
  }
  return found;
}

void Store::tag(std::string_view manifest_digest, const std::string& full_name) {
  if (!image(manifest_digest)) fail("tag: image {} is not in the store", manifest_digest);
  Fd lock = lock_file("names", LOCK_EX);
  auto all = read_names();
  all[full_name] = manifest_digest;
  write_names(all);
}

bool Store::untag(const std::string& full_name) {
  Fd lock = lock_file("names", LOCK_EX);
  auto all = read_names();
  if (!all.erase(full_name)) return false;
  write_names(all);
  return true;
}

void Store::remove_image(std::string_view manifest_digest) {
  Fd lock = lock_file("names", LOCK_EX);
  auto all = read_names();
  std::erase_if(all, [&](const auto& kv) { return kv.second == manifest_digest; });
  write_names(all);
  std::string path = root_ + "/images/" + digest_hex(manifest_digest) + ".json";
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail_errno("remove {}", path);
}

Fd Store::exclusive_lock() const {
  return lock_file("store", LOCK_EX);
}

Store::PruneResult Store::prune(const std::set<std::string>& in_use) {
  return prune_with([&] { return in_use; });
}

Store::PruneResult Store::prune_with(const std::function<std::set<std::string>()>& in_use,
                                     bool held) {
  Fd exclusive = held ? Fd() : exclusive_lock();
  PruneResult result;
  std::set<std::string> layers = in_use(), blobs;
  for (const auto& r : images()) {
    blobs.insert(r.manifest_digest);
    blobs.insert(r.config_digest);
    for (const auto& l : r.layers) {
      layers.insert(l.chain_id);
      blobs.insert(l.digest);
    }
  }
  // Unpublish first (one rename), then delete: a crash half-way leaves only tmp/ to clean.
  for (const auto& hex : list_dir(root_ + "/layers")) {
    if (layers.count("sha256:" + hex)) continue;
    std::string gone = tmp_dir() + "/gone-" + hex;
    if (::rename((root_ + "/layers/" + hex).c_str(), gone.c_str()) < 0)
      fail_errno("remove layer {}", hex);
    result.layers++;
  }
  for (const auto& hex : list_dir(root_ + "/blobs/sha256")) {
    if (blobs.count("sha256:" + hex)) continue;
    std::string path = root_ + "/blobs/sha256/" + hex;
    result.freed_bytes += disk_usage(path);
    if (::unlink(path.c_str()) < 0) fail_errno("remove blob {}", hex);
    result.blobs++;
  }
  // Nobody writes now: all of tmp/ is what interrupted writers left, or what was unpublished.
  for (const auto& name : list_dir(tmp_dir())) {
    std::string path = tmp_dir() + "/" + name;
    result.freed_bytes += disk_usage(path);
    remove_all(path);
    if (name.rfind("gone-", 0) != 0) result.temporaries++;
  }
  for (const auto& name : list_dir(root_ + "/images"))
    if (name.find(".tmp") != std::string::npos) remove_all(root_ + "/images/" + name);
  return result;
}

Store::Usage Store::usage() const {
  Usage u;
  for (const auto& hex : list_dir(root_ + "/layers")) {
    u.layers++;
    u.layers_bytes += disk_usage(root_ + "/layers/" + hex);
  }
  for (const auto& hex : list_dir(root_ + "/blobs/sha256")) {
    u.blobs++;
    u.blobs_bytes += disk_usage(root_ + "/blobs/sha256/" + hex);
  }
  return u;
}

}  // namespace hull::image
