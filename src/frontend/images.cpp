#include "frontend/images.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "frontend/human.h"
#include "frontend/registry.h"
#include "frontend/views.h"
#include "frontend/volumes.h"
#include "image/digest.h"
#include "image/load.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace hull::frontend {

using ojson = nlohmann::ordered_json;

namespace {

std::string short_id(const std::string& digest) {
  return digest.substr(7, 12);
}

// docker's REPOSITORY and TAG columns for a full name.
std::pair<std::string, std::string> repo_tag(const std::string& full) {
  image::Reference r = image::parse_reference(full);
  return {r.familiar_name(), r.tag.empty() ? "<none>" : r.tag};
}

// One row per name of an image (REPOSITORY, TAG), or <none> <none> for an image without.
std::vector<std::pair<std::string, std::string>> repo_tags(const image::ImageRecord& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& n : r.names) out.push_back(repo_tag(n));
  if (out.empty()) out.emplace_back("<none>", "<none>");
  return out;
}

int64_t image_size(const image::Store& s, const image::ImageRecord& r) {
  int64_t n = 0;
  for (const auto& l : r.layers)
    if (auto info = s.layer(l.chain_id)) n += info->unpacked_size;
  return n;
}

std::string config_of(const image::Store& s, const image::ImageRecord& r) {
  return s.read_blob(r.config_digest);
}

// Containers (by name) whose root is this image's.
std::vector<std::string> users_of(const Env& env, const image::ImageRecord& r) {
  Store store(env);
  std::vector<std::string> out;
  for (const auto& id : store.list()) {
    try {
      Meta m = store.load(id);
      if (m.image_manifest == r.manifest_digest) out.push_back(m.name);
    } catch (const Error&) {
      // A container half-created or half-removed: not a user.
    }
  }
  return out;
}

std::string size_text(int64_t bytes) {
  return human_bytes_decimal(static_cast<double>(bytes));
}

}  // namespace

image::Store image_store(const Env& env) {
  return image::Store(image::Store::root_for(env.state_dir));
}

ResolvedImage resolve_image(const Env& env, const std::string& ref, const std::string& pull) {
  return resolve_image(env, image_store(env), ref, pull);
}

ResolvedImage resolve_image(const Env& env, const image::Store& store, const std::string& ref,
                            const std::string& pull) {
  if (pull != "missing" && pull != "always" && pull != "never")
    fail("--pull {}: not missing, always or never", quote(pull));
  auto parsed = [&] {
    try {
      return image::parse_reference(ref).full();
    } catch (const Error&) {
      fail("{}: not an image hull has, and not a valid image reference", quote(ref));
    }
  };
  if (pull == "always") {
    parsed();
    pull_for_run(env, ref);
  }
  auto found = store.find(ref);
  if (!found && pull == "never")
    fail(
        "unable to find image {} ({}) in hull's store, and --pull never: pull it with \"hull "
        "pull\" "
        "or load it with \"hull load -i FILE\" (see \"hull images\")",
        quote(ref), parsed());
  if (!found) {
    std::string full = parsed();
    std::fprintf(stderr, "Unable to find image '%s' locally\n", ref.c_str());
    try {
      pull_for_run(env, ref);
    } catch (const Error& e) {
      // Offline, the way on is an archive.
      throw Error(std::string(e.what()) +
                  " (an image from an archive: \"hull load -i FILE\"; see \"hull images\")");
    }
    found = store.find(full);
    if (!found) fail("pulled {} but the store has no image by that name", full);
  }
  ResolvedImage r{*found, image::parse_image_config(store.read_blob(found->config_digest))};
  return r;
}

std::set<std::string> layers_in_use(const Env& env) {
  Store store(env);
  std::set<std::string> out;
  for (const auto& id : store.list()) {
    try {
      Meta m = store.load(id);
      out.insert(m.image_layers.begin(), m.image_layers.end());
    } catch (const Error&) {
      // Unreadable meta: its layers may still be in use; keep everything of images' own.
    }
  }
  return out;
}

std::string images_text(const Env& env, const ImagesOptions& o) {
  image::Store store = image_store(env);
  auto images = store.images();
  std::sort(images.begin(), images.end(),
            [](const auto& a, const auto& b) { return a.created > b.created; });
  if (o.format == "json") {
    ojson arr = ojson::array();
    for (const auto& r : images) {
      ojson j;
      j["id"] = r.config_digest;
      j["digest"] = r.manifest_digest;
      j["names"] = r.names;
      j["created"] = r.created;
      j["size"] = image_size(store, r);
      j["layers"] = r.layers.size();
      arr.push_back(j);
    }
    return arr.dump(2) + "\n";
  }
  if (!o.format.empty() && o.format != "table") {
    // A Go template over docker's fields, one line per name (views.h, template.h).
    Template tmpl("--format", o.format);
    std::vector<std::string> lines;
    if (tmpl.is_table())
      lines.push_back(tmpl.header({{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"}}));
    for (const auto& r : images) {
      for (const auto& [repo, tag] : repo_tags(r)) {
        ojson j;
        j["ID"] = short_id(r.config_digest);
        j["Repository"] = repo;
        j["Tag"] = tag;
        j["Digest"] = r.manifest_digest;
        j["CreatedAt"] = r.created;
        j["CreatedSince"] = r.created.empty() ? "N/A" : human_ago(r.created);
        j["Size"] = size_text(image_size(store, r));
        j["Containers"] = "N/A";
        lines.push_back(tmpl.render(j));
      }
    }
    return format_lines(lines, tmpl.is_table());
  }
  if (o.quiet) {
    std::string out;
    std::set<std::string> seen;
    for (const auto& r : images)
      if (seen.insert(r.config_digest).second) out += short_id(r.config_digest) + "\n";
    return out;
  }
  std::vector<std::vector<std::string>> t;
  std::vector<std::string> head = {"REPOSITORY", "TAG"};
  if (o.digests) head.push_back("DIGEST");
  for (const char* h : {"IMAGE ID", "CREATED", "SIZE"}) head.push_back(h);
  t.push_back(head);
  for (const auto& r : images) {
    for (const auto& [repo, tag] : repo_tags(r)) {
      std::vector<std::string> row = {repo, tag};
      if (o.digests) row.push_back(r.manifest_digest);
      row.push_back(short_id(r.config_digest));
      row.push_back(r.created.empty() ? "N/A" : human_ago(r.created));
      row.push_back(size_text(image_size(store, r)));
      t.push_back(row);
    }
  }
  return table(t);
}

std::vector<std::string> remove_images(const Env& env, const std::vector<std::string>& refs,
                                       bool force) {
  image::Store store = image_store(env);
  // Exclusive: a `hull run` that found one of these images has recorded its layers (and is a
  // user) before this looks, or finds the image gone.
  Fd exclusive = store.exclusive_lock();
  std::vector<std::string> lines;
  for (const auto& ref : refs) {
    auto found = store.find(ref);
    if (!found) fail("no such image: {}", ref);
    // A name of an image that has others: only the name goes (docker's rule).
    std::string full;
    try {
      image::Reference parsed = image::parse_reference(ref);
      if (parsed.digest.empty()) full = parsed.full();
    } catch (const Error&) {
    }
    bool by_name = std::find(found->names.begin(), found->names.end(), full) != found->names.end();
    if (by_name && found->names.size() > 1) {
      store.untag(full);
      lines.push_back("Untagged: " + image::familiar(full));
      continue;
    }
    auto users = users_of(env, *found);
    if (!users.empty() && !force)
      fail(
          "image {} is in use by container {}: remove the container first (hull rm), or use "
          "rmi -f",
          ref, join(users, ", "));
    if (found->names.size() > 1 && !force)
      fail("image {} has several names ({}): remove them by name, or use rmi -f", ref,
           found->names.size());
    for (const auto& n : found->names) lines.push_back("Untagged: " + image::familiar(n));
    store.remove_image(found->manifest_digest);
    lines.push_back("Deleted: " + found->config_digest);
  }
  // What no image and no container needs any more goes now, as with docker's rmi.
  store.prune_with([&] { return layers_in_use(env); }, true);
  return lines;
}

void tag_image(const Env& env, const std::string& source, const std::string& target) {
  image::Store store = image_store(env);
  auto found = store.find(source);
  if (!found) fail("no such image: {}", source);
  image::Reference t = image::parse_reference(target);
  if (!t.digest.empty()) fail("tag {}: a tag cannot name a digest", target);
  store.tag(found->manifest_digest, t.full());
}

std::vector<std::string> load_archive(const Env& env, const std::string& path) {
  image::Store store = image_store(env);
  auto loaded = image::load_images(store, path);
  std::vector<std::string> lines;
  for (const auto& l : loaded) {
    if (l.names.empty()) lines.push_back("Loaded image ID: " + l.config_digest);
    for (const auto& n : l.names) lines.push_back("Loaded image: " + image::familiar(n));
  }
  if (loaded.empty()) fail("load {}: the archive holds no image", path);
  return lines;
}

std::string import_tarball(const Env& env, const std::string& path, const std::string& ref) {
  std::string full = ref.empty() ? "" : image::parse_reference(ref).full();
  image::Store store = image_store(env);
  Fd fd = (path == "-") ? Fd(::dup(0)) : open_or_fail(path, O_RDONLY | O_CLOEXEC);
  return with_context(fmt::format("import {}", path),
                      [&] { return image::import_rootfs(store, fd.get(), full).config_digest; });
}

void save_archive(const Env& env, const std::vector<std::string>& refs, const std::string& out,
                  const std::string& format) {
  image::SaveFormat f;
  if (format.empty() || format == "docker-archive")
    f = image::SaveFormat::docker_archive;
  else if (format == "oci-archive")
    f = image::SaveFormat::oci_archive;
  else
    fail("--format {}: want docker-archive or oci-archive", quote(format));
  image::Store store = image_store(env);
  std::vector<image::SaveItem> items;
  for (const auto& ref : refs) {
    auto found = store.find(ref);
    if (!found) fail("no such image: {}", ref);
    image::SaveItem it{*found, {}};
    // A name given: that name; an id: every name the image has (docker's rule).
    try {
      image::Reference r = image::parse_reference(ref);
      std::string full = r.full();
      if (std::find(found->names.begin(), found->names.end(), full) != found->names.end())
        it.names = {full};
    } catch (const Error&) {
    }
    if (it.names.empty()) it.names = found->names;
    items.push_back(it);
  }
  if (out.empty() || out == "-") {
    if (::isatty(1)) fail("save: refusing to write an archive to a terminal; use -o FILE");
    image::save_images(store, items, f, 1);
    return;
  }
  std::string tmp = out + ".tmp" + std::to_string(::getpid());
  Fd fd = open_or_fail(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
  image::save_images(store, items, f, fd.get());
  if (::fsync(fd.get()) < 0) fail_errno("write {}", out);
  if (::rename(tmp.c_str(), out.c_str()) < 0) fail_errno("rename {} to {}", tmp, out);
  remove_tmp.dismiss();
}

std::string image_inspect(const Env& env, const std::string& ref, bool json) {
  image::Store store = image_store(env);
  auto found = store.find(ref);
  if (!found) fail("no such image: {}", ref);
  image::ImageConfig c = image::parse_image_config(config_of(store, *found));
  ojson layers = ojson::array();
  for (const auto& l : found->layers)
    layers.push_back({{"chainId", l.chain_id},
                      {"diffId", l.diff_id},
                      {"digest", l.digest},
                      {"mediaType", l.media_type},
                      {"size", l.size},
                      {"dir", store.layer_root(l.chain_id)}});
  if (json) {
    ojson j;
    j["id"] = found->config_digest;
    j["digest"] = found->manifest_digest;
    j["names"] = found->names;
    j["created"] = found->created;
    j["architecture"] = c.architecture;
    j["os"] = c.os;
    j["size"] = image_size(store, *found);
    j["config"] = {
        {"entrypoint", c.entrypoint},      {"cmd", c.cmd},         {"env", c.env},
        {"workingDir", c.working_dir},     {"user", c.user},       {"stopSignal", c.stop_signal},
        {"exposedPorts", c.exposed_ports}, {"volumes", c.volumes}, {"labels", c.labels}};
    j["layers"] = layers;
    return j.dump(2) + "\n";
  }
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    out += fmt::format("{:<14}{}\n", k + ":", v);
  };
  line("Id", found->config_digest);
  line("Digest", found->manifest_digest);
  std::vector<std::string> names;
  for (const auto& n : found->names) names.push_back(image::familiar(n));
  line("Names", names.empty() ? "<none>" : join(names, ", "));
  line("Created", found->created);
  line("Platform", c.os + "/" + c.architecture);
  line("Size", size_text(image_size(store, *found)));
  line("Entrypoint", c.entrypoint.empty() ? "-" : join(c.entrypoint, " "));
  line("Cmd", c.cmd.empty() ? "-" : join(c.cmd, " "));
  line("WorkingDir", c.working_dir.empty() ? "/" : c.working_dir);
  line("User", c.user.empty() ? "root" : c.user);
  if (!c.stop_signal.empty()) line("StopSignal", c.stop_signal);
  if (!c.exposed_ports.empty()) line("ExposedPorts", join(c.exposed_ports, ", "));
  if (!c.volumes.empty()) line("Volumes", join(c.volumes, ", "));
  for (const auto& e : c.env) line("Env", e);
  for (size_t i = 0; i < found->layers.size(); i++)
    line(fmt::format("Layer {}", i), found->layers[i].diff_id);
  return out;
}

std::string prune_images(const Env& env) {
  image::Store store = image_store(env);
  auto r = store.prune_with([&] { return layers_in_use(env); });
  return fmt::format(
      "Deleted {} layers, {} blobs, {} interrupted writes\nTotal reclaimed space: {}\n", r.layers,
      r.blobs, r.temporaries, size_text(r.freed_bytes));
}

std::string system_df(const Env& env) {
  image::Store store = image_store(env);
  auto images = store.images();
  auto in_use = layers_in_use(env);
  std::set<std::string> active_images;
  // Containers: their writable layers (what rm of the stopped ones would give back). Local
  // volumes: the named ones and each container's anonymous ones (docker's rows).
  int64_t containers_size = 0, containers_reclaimable = 0, volumes_size = 0, volumes_free = 0;
  int containers = 0, running = 0, volumes = 0, volumes_used = 0;
  Store cstore(env);
  for (const auto& s : list(env, true)) {
    try {
      const Meta& m = s.meta;
      const std::string& id = m.id;
      containers++;
      if (!m.image_manifest.empty()) active_images.insert(m.image_manifest);
      bool up = s.state == State::running || s.state == State::paused;
      if (up) running++;
      int64_t layer = image::disk_usage(cstore.dir(id) + "/layer/upper");
      containers_size += layer;
      if (!up) containers_reclaimable += layer;
      std::string anon = cstore.dir(id) + "/volumes";
      if (path_exists(anon))
        for (const auto& v : list_dir(anon)) {
          volumes++, volumes_used++;
          volumes_size += image::disk_usage(anon + "/" + v);
        }
    } catch (const Error&) {
    }
  }
  Volumes named(env);
  for (const auto& v : named.list()) {
    int64_t n = image::disk_usage(v.mountpoint);
    volumes++, volumes_size += n;
    if (named.users(v.name).empty())
      volumes_free += n;
    else
      volumes_used++;
  }
  auto u = store.usage();
  int64_t reclaimable = 0;
  for (const auto& hex : list_dir(store.root() + "/layers")) {
    bool used = in_use.count("sha256:" + hex) > 0;
    for (const auto& r : images)
      for (const auto& l : r.layers) used = used || l.chain_id == "sha256:" + hex;
    if (!used) reclaimable += image::disk_usage(store.root() + "/layers/" + hex);
  }
  int active = 0;
  for (const auto& r : images) active += active_images.count(r.manifest_digest) ? 1 : 0;
  std::vector<std::vector<std::string>> t = {{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}};
  t.push_back({"Images", std::to_string(images.size()), std::to_string(active),
               size_text(u.layers_bytes + u.blobs_bytes), size_text(reclaimable)});
  t.push_back({"Layers", std::to_string(u.layers), "", size_text(u.layers_bytes), ""});
  t.push_back({"Blobs", std::to_string(u.blobs), "", size_text(u.blobs_bytes), ""});
  t.push_back({"Containers", std::to_string(containers), std::to_string(running),
               size_text(containers_size), size_text(containers_reclaimable)});
  t.push_back({"Local Volumes", std::to_string(volumes), std::to_string(volumes_used),
               size_text(volumes_size), size_text(volumes_free)});
  return table(t);
}

}  // namespace hull::frontend
