#include "registry/pull.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "image/config.h"
#include "image/digest.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "registry/client.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/strings.h"

namespace hull::registry {

using nlohmann::json;

namespace {

using namespace image::media;

json parse(const Client& client, const std::string& text, const std::string& what) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) client.fail_here(what + ": not a JSON object");
    return j;
  } catch (const json::exception& e) {
    client.fail_here(fmt::format("{}: {}", what, e.what()));
  }
}

bool platform_matches(const Platform& want, const json& p) {
  std::string os = p.value("os", ""), arch = p.value("architecture", ""),
              variant = p.value("variant", "");
  if (os != want.os || arch != want.architecture) return false;
  if (want.variant.empty() || want.variant == variant) return true;
  return want.architecture == "arm64" && want.variant == "v8" && variant.empty();
}

std::string short_id(const std::string& digest) {
  return digest.substr(7, 12);
}

// Writes all of data to a socket; EPIPE when the reader has gone.
void send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("feed the layer to the store");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

struct LayerJob {
  std::string digest, media_type, diff_id, chain, parent;
  int64_t size = 0;
};

}  // namespace

std::string Platform::text() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Platform parse_platform(const std::string& text) {
  Platform p{"linux", image::host_architecture(), ""};
  if (text.empty()) return p;
  auto parts = split(text, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    fail("--platform {}: not os/arch[/variant] (linux/amd64, linux/arm64/v8)", quote(text));
  p.os = parts[0];
  p.architecture = parts[1];
  p.variant = parts.size() == 3 ? parts[2] : "";
  return p;
}

PullResult pull_image(image::Store& store, const std::string& reference, const PullOptions& o) {
  image::Reference ref = image::parse_reference(reference);
  Platform want = parse_platform(o.platform);
  Progress quiet(Progress::Mode::quiet);
  Progress& progress = o.progress ? *o.progress : quiet;
  std::string asked = ref.digest.empty() ? ref.tag : ref.digest;

  // The registry's mirrors first (registries.conf), then the registry.
  auto endpoints = pull_endpoints(ref.domain);
  std::unique_ptr<Client> client;
  Connection conn;
  Manifest m;
  for (size_t i = 0; i < endpoints.size(); i++) {
    client = std::make_unique<Client>(ref.domain, ref.repository, endpoints[i]);
    try {
      m = client->get_manifest(conn, asked);
      break;
    } catch (const Error& e) {
      if (i + 1 == endpoints.size()) throw;
      log::debug("mirror {}: {}; trying the next", endpoints[i].host, e.what());
    }
  }
  progress.line(fmt::format("{}: Pulling from {}", asked, ref.repository));

  json mj = parse(*client, m.body, "manifest " + quote(asked));
  bool from_index = false;
  if (m.media_type.empty()) m.media_type = mj.value("mediaType", "");
  if (is_index(m.media_type) || (m.media_type.empty() && mj.contains("manifests"))) {
    std::string found, platforms;
    for (const auto& d : mj.value("manifests", json::array())) {
      json p = d.value("platform", json::object());
      if (p.value("os", "") == "unknown") continue;  // attestations, not images
      Platform have{p.value("os", ""), p.value("architecture", ""), p.value("variant", "")};
      platforms += (platforms.empty() ? "" : ", ") + have.text();
      if (found.empty() && platform_matches(want, p)) found = d.value("digest", "");
    }
    if (found.empty())
      client->fail_here(fmt::format("no image for {} in {} (it has {})", want.text(), quote(asked),
                                    platforms.empty() ? "none" : platforms));
    image::check_digest(found, "index manifest");
    from_index = true;
    m = client->get_manifest(conn, found);
    mj = parse(*client, m.body, "manifest " + found);
    if (m.media_type.empty()) m.media_type = mj.value("mediaType", "");
  }
  if (m.media_type.rfind("application/vnd.docker.distribution.manifest.v1", 0) == 0 ||
      mj.value("schemaVersion", 0) == 1)
    client->fail_here(
        fmt::format("manifest {}: schema 1, which hull does not read (docker "
                    "dropped it too); push the image again with a current tool",
                    quote(asked)));
  if (!m.media_type.empty() && m.media_type != kOciManifest && m.media_type != kDockerManifest)
    client->fail_here(
        fmt::format("manifest {}: unsupported media type {}", quote(asked), m.media_type));
  if (!mj.contains("config") || !mj["config"].is_object())
    client->fail_here(fmt::format("manifest {}: no config", quote(asked)));
  std::string config_digest = mj["config"].value("digest", "");
  if (!image::valid_digest(config_digest))
    client->fail_here(
        fmt::format("manifest {}: config digest {}", quote(asked), quote(config_digest)));
  std::vector<LayerJob> jobs;
  for (const auto& l : mj.value("layers", json::array())) {
    LayerJob j;
    j.digest = l.value("digest", "");
    j.media_type = l.value("mediaType", "");
    j.size = l.value("size", int64_t{0});
    if (!image::valid_digest(j.digest))
      client->fail_here(fmt::format("manifest {}: layer digest {}", quote(asked), quote(j.digest)));
    if (!is_layer(j.media_type))
      client->fail_here(fmt::format("layer {}: media type {} is not a tar layer hull reads",
                                    j.digest, quote(j.media_type)));
    jobs.push_back(j);
  }

  PullResult result;
  result.full_name = ref.full();
  result.manifest_digest = m.digest;
  result.config_digest = config_digest;
  // By tag: the tag's name. By digest: "name@digest", which finds it again (Store::find) even
  // when the digest is an index's.
  std::vector<std::string> names = {ref.full()};

  Fd writer = store.writer_lock();
  if (auto have = store.image(m.digest)) {
    bool whole = true;
    for (const auto& l : have->layers) whole = whole && store.has_layer(l.chain_id);
    if (whole) {
      store.record_image(*have, names);
      progress.line("Digest: " + m.digest);
      progress.line("Status: Image is up to date for " + image::familiar(ref.full()));
      return result;
    }
  }

  std::string config = store.has_blob(config_digest) ? store.read_blob(config_digest)
                                                     : client->get_blob_data(conn, config_digest);
  image::ImageConfig cfg = with_context(fmt::format("registry {}, repository {}: config {}",
                                                    ref.domain, ref.repository, config_digest),
                                        [&] { return image::parse_image_config(config); });
  // A single image (no index to choose from) asked for with --platform must be that platform.
  if (!from_index && !o.platform.empty()) {
    json p = {{"os", cfg.os}, {"architecture", cfg.architecture}, {"variant", cfg.variant}};
    if (!platform_matches(want, p))
      client->fail_here(fmt::format("{} is an image for {}, not {}", quote(asked),
                                    Platform{cfg.os, cfg.architecture, cfg.variant}.text(),
                                    want.text()));
  }
  if (cfg.diff_ids.size() != jobs.size())
    client->fail_here(fmt::format("manifest {} lists {} layers but its config {} diff_ids",
                                  quote(asked), jobs.size(), cfg.diff_ids.size()));
  std::string parent;
  for (size_t i = 0; i < jobs.size(); i++) {
    jobs[i].diff_id = cfg.diff_ids[i];
    jobs[i].parent = parent;
    jobs[i].chain = image::chain_id(parent, jobs[i].diff_id);
    parent = jobs[i].chain;
    progress.layer(short_id(jobs[i].digest),
                   store.has_layer(jobs[i].chain) ? "Already exists" : "Pulling fs layer");
  }

  // The layers, `parallel` at a time, each worker with a connection of its own. After a
  // failure no layer starts, but those under way finish: a pull again needs only the rest.
  std::vector<image::LayerInfo> infos(jobs.size());
  std::exception_ptr first_error;  // the failure that stopped the others
  std::mutex error_mu;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto fetch = [&](Connection& c, size_t i) {
    const LayerJob& job = jobs[i];
    std::string id = short_id(job.digest);
    Fd reader, writer_end;
    std::thread download;
    std::exception_ptr download_error;
    std::atomic<bool> reader_gone{false};
    bool opened = false;
    image::Store::LayerSource src;
    src.digest = job.digest;
    src.diff_id = job.diff_id;
    src.parent_chain = job.parent;
    src.media_type = job.media_type;
    src.open = [&]() -> int {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        fail_errno("socketpair for layer {}", job.digest);
      reader = Fd(sv[0]);
      writer_end = Fd(sv[1]);
      opened = true;
      progress.layer(id, "Downloading", 0, job.size);
      download = std::thread([&] {
        int64_t got = 0;
        try {
          client->get_blob(c, job.digest, [&](const char* p, size_t n) {
            try {
              send_all(writer_end.get(), p, n);
            } catch (const Error&) {
              reader_gone = true;
              throw;
            }
            got += static_cast<int64_t>(n);
            progress.layer(id, "Downloading", got, job.size);
          });
        } catch (...) {
          download_error = std::current_exception();
        }
        // The end of the stream: the import sees EOF and checks what it got.
        writer_end.reset();
      });
      return reader.get();
    };
    auto finish = [&] {
      reader.reset();  // a download still sending gets EPIPE and stops
      if (download.joinable()) download.join();
    };
    try {
      infos[i] = with_context(fmt::format("registry {}, repository {}: layer {}", ref.domain,
                                          ref.repository, job.digest),
                              [&] { return store.import_layer(src); });
    } catch (const Error&) {
      finish();
      if (download_error && !reader_gone) std::rethrow_exception(download_error);
      throw;
    }
    finish();
    progress.layer(id, opened ? "Pull complete" : "Already exists");
  };
  auto worker = [&] {
    Connection c;
    for (;;) {
      size_t i = next++;
      if (i >= jobs.size() || failed) return;
      try {
        fetch(c, i);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  size_t n_workers = std::min<size_t>(std::max(o.parallel, 1), jobs.size());
  std::vector<std::thread> workers;
  for (size_t w = 1; w < n_workers; w++) workers.emplace_back(worker);
  if (n_workers > 0) worker();
  for (auto& t : workers) t.join();
  if (first_error) std::rethrow_exception(first_error);

  // Every layer is in: the config, the manifest, then the record that names them.
  store.put_blob_data(config, config_digest);
  store.put_blob_data(m.body, m.digest);
  image::ImageRecord r;
  r.manifest_digest = m.digest;
  r.config_digest = config_digest;
  r.created = cfg.created;
  r.layers = infos;
  store.record_image(r, names);
  result.downloaded = true;
  progress.line("Digest: " + m.digest);
  progress.line("Status: Downloaded newer image for " + image::familiar(ref.full()));
  return result;
}

}  // namespace hull::registry
