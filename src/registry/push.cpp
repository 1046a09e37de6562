#include "registry/push.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "image/digest.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "registry/client.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::registry {

using nlohmann::json;

namespace {

// A blob up to this size goes in one request (one round trip less); a larger one in chunks of
// this size, so that no request carries more than a proxy or registry may take. Also when a
// registry answers a whole blob with 413. HULL_PUSH_CHUNK_SIZE (bytes) sets it.
constexpr int64_t kDefaultChunk = int64_t{64} << 20;

int64_t chunk_size() {
  const char* v = std::getenv("HULL_PUSH_CHUNK_SIZE");
  if (!v || !*v) return kDefaultChunk;
  auto n = parse_i64(v);
  if (!n || *n < 1) fail("HULL_PUSH_CHUNK_SIZE={}: not a number of bytes", quote(v));
  return *n;
}

}  // namespace

PushResult push_image(const image::Store& store, const std::string& reference, Progress* progress) {
  image::Reference ref = image::parse_reference(reference);
  if (!ref.digest.empty())
    fail("push {}: a reference with a digest cannot be pushed; give a tag", quote(reference));
  auto record = store.find(reference);
  if (!record) fail("push: no image {} in hull's store (see \"hull images\")", quote(reference));
  Progress quiet(Progress::Mode::quiet);
  Progress& p = progress ? *progress : quiet;

  std::string manifest = store.read_blob(record->manifest_digest);
  json mj;
  try {
    mj = json::parse(manifest);
  } catch (const json::exception& e) {
    fail("push: manifest {} in the store: {}", record->manifest_digest, e.what());
  }
  std::string media_type = mj.value("mediaType", image::media::kOciManifest);
  std::vector<std::string> blobs;
  for (const auto& l : mj.value("layers", json::array())) blobs.push_back(l.value("digest", ""));
  blobs.push_back(mj["config"].value("digest", ""));

  // Other repositories of the same registry that the store's images came from: mount sources.
  std::map<std::string, std::vector<std::string>> sources;  // blob -> repositories
  for (const auto& img : store.images()) {
    std::set<std::string> repos;
    for (const auto& n : img.names) {
      try {
        image::Reference r = image::parse_reference(n);
        if (r.domain == ref.domain && r.repository != ref.repository) repos.insert(r.repository);
      } catch (const Error&) {
      }
    }
    if (repos.empty()) continue;
    std::vector<std::string> ds = {img.config_digest};
    for (const auto& l : img.layers) ds.push_back(l.digest);
    for (const auto& d : ds)
      for (const auto& r : repos) sources[d].push_back(r);
  }

  int64_t chunk = chunk_size();
  Client client(ref.domain, ref.repository, push_endpoint(ref.domain), true);
  Connection conn;  // for the manifest
  p.line(fmt::format("The push refers to repository [{}]", ref.name()));
  PushResult res;
  for (const auto& d : blobs) {
    image::check_digest(d, "manifest blob");
    if (!store.has_blob(d))
      fail(
          "push {}: blob {} is not in hull's store (a layer shared with an image loaded without "
          "its blob); pull or load this image again",
          quote(reference), d);
  }
  // The blobs, 3 at a time, each worker with a connection of its own; the manifest after all.
  std::atomic<size_t> next{0};
  std::atomic<int> uploaded{0}, mounted{0}, present{0};
  std::exception_ptr first_error;
  std::mutex error_mu;
  auto push_blob = [&](Connection& c, const std::string& d) {
    std::string id = d.substr(7, 12);
    if (client.has_blob(c, d)) {
      p.layer(id, "Layer already exists");
      present++;
      return;
    }
    for (const auto& from : sources[d]) {
      if (client.mount_blob(c, d, from)) {
        p.layer(id, "Mounted from " + from);
        mounted++;
        return;
      }
    }
    Fd fd = open_or_fail(store.blob_path(d), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) fail_errno("stat blob {}", d);
    p.layer(id, "Pushing", 0, st.st_size);
    if (st.st_size > chunk || !client.upload_blob(c, d, fd.get(), st.st_size))
      client.upload_blob_chunked(c, d, fd.get(), st.st_size, chunk,
                                 [&](int64_t n) { p.layer(id, "Pushing", n, st.st_size); });
    p.layer(id, "Pushed");
    uploaded++;
  };
  auto worker = [&] {
    Connection c;
    for (;;) {
      size_t i = next++;
      if (i >= blobs.size()) return;
      {
        std::lock_guard lock(error_mu);
        if (first_error) return;
      }
      try {
        push_blob(c, blobs[i]);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 1; w < std::min<size_t>(3, blobs.size()); w++) workers.emplace_back(worker);
  worker();
  for (auto& t : workers) t.join();
  if (first_error) std::rethrow_exception(first_error);
  res.uploaded = uploaded;
  res.mounted = mounted;
  res.present = present;
  client.put_manifest(conn, ref.tag, media_type, manifest);
  res.full_name = ref.full();
  res.manifest_digest = record->manifest_digest;
  res.manifest_size = static_cast<int64_t>(manifest.size());
  p.line(fmt::format("{}: digest: {} size: {}", ref.tag, res.manifest_digest, res.manifest_size));
  return res;
}

}  // namespace hull::registry
