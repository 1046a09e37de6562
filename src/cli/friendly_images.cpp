// Image verbs, docker's names and flags: images, rmi, tag, load, save, import, image
// inspect|ls|rm|prune, system df.
#include <cstdio>

#include "cli/friendly.h"
#include "frontend/images.h"
#include "util/error.h"
#include "util/log.h"

namespace hull::cli {
namespace {

void print(const std::string& text) {
  std::fputs(text.c_str(), stdout);
}
void print_lines(const std::vector<std::string>& lines) {
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
}

struct ImageArgs {
  frontend::ImagesOptions list;
  std::vector<std::string> refs;
  bool force = false, json = false;
  std::string input, output, format, source, target, tarball, ref;
};

void add_images(CLI::App* app, FriendlyEnv& env, ImageArgs& a, const char* name) {
  auto* images = app->add_subcommand(name, "list images");
  images->add_flag("-q,--quiet", a.list.quiet, "only the image ids");
  images->add_flag("--digests", a.list.digests, "show the manifest digests");
  images->add_flag("-a,--all", a.list.all, "every image (hull keeps no intermediate ones)");
  images->add_option(
      "--format", a.list.format,
      "json, or a Go template over docker's fields: {{.Repository}} {{.Tag}} {{.ID}} "
      "{{.Size}} ... (table TEMPLATE: with a header)");
  env.add(images, [&env, &a] {
    print(frontend::images_text(env.env, a.list));
    return 0;
  });
}

void add_rmi(CLI::App* app, FriendlyEnv& env, ImageArgs& a, const char* name) {
  auto* rmi = app->add_subcommand(name, "remove images (refused for one a container uses)");
  rmi->add_flag("-f,--force", a.force, "remove even if containers use it");
  rmi->add_option("image", a.refs, "name or id")->required();
  env.add(rmi, [&env, &a] {
    print_lines(frontend::remove_images(env.env, a.refs, a.force));
    return 0;
  });
}

}  // namespace

void register_image_verbs(CLI::App& app, FriendlyEnv& env) {
  static ImageArgs a;
  add_images(&app, env, a, "images");
  add_rmi(&app, env, a, "rmi");

  auto* tag = app.add_subcommand("tag", "give an image another name");
  tag->add_option("source", a.source, "image")->required();
  tag->add_option("target", a.target, "new name")->required();
  env.add(tag, [&env] {
    frontend::tag_image(env.env, a.source, a.target);
    return 0;
  });

  auto* load = app.add_subcommand(
      "load", "load images from an archive (docker-archive, oci-archive, OCI layout dir)");
  load->add_option("-i,--input", a.input, "the archive or directory (default: stdin)");
  load->add_flag("-q,--quiet", a.list.quiet, "no output");
  env.add(load, [&env] {
    auto lines = frontend::load_archive(env.env, a.input);
    if (!a.list.quiet) print_lines(lines);
    return 0;
  });

  auto* save = app.add_subcommand("save", "write images to an archive");
  save->add_option("-o,--output", a.output, "the archive (default: stdout)");
  save->add_option("--format", a.format, "docker-archive (default) or oci-archive");
  save->add_option("image", a.refs, "names or ids")->required();
  env.add(save, [&env] {
    frontend::save_archive(env.env, a.refs, a.output, a.format);
    return 0;
  });

  auto* import =
      app.add_subcommand("import", "make a one-layer image from a root file system tarball");
  import->add_option("file", a.tarball, "the tarball (- for stdin)")->required();
  import->add_option("reference", a.ref, "name for the image");
  env.add(import, [&env] {
    std::printf("%s\n", frontend::import_tarball(env.env, a.tarball, a.ref).c_str());
    return 0;
  });

  auto* image = app.add_subcommand("image", "manage images");
  image->require_subcommand(1);
  add_images(image, env, a, "ls");
  add_rmi(image, env, a, "rm");
  auto* inspect = image->add_subcommand("inspect", "an image's config and layers");
  inspect->add_flag("--json", a.json, "JSON output");
  inspect->add_option("image", a.refs, "names or ids")->required();
  env.add(inspect, [&env] {
    for (const auto& r : a.refs) print(frontend::image_inspect(env.env, r, a.json));
    return 0;
  });
  auto* prune =
      image->add_subcommand("prune", "remove layers and blobs no image or container uses");
  prune->add_flag("-f,--force", a.force, "(no prompt either way)");
  prune->add_flag("-a,--all", a.list.all, "(the same: hull keeps no dangling intermediates)");
  env.add(prune, [&env] {
    print(frontend::prune_images(env.env));
    return 0;
  });

  auto* system = app.add_subcommand("system", "hull's disk use");
  system->require_subcommand(1);
  auto* df = system->add_subcommand("df", "disk used by images, layers and containers");
  env.add(df, [&env] {
    print(frontend::system_df(env.env));
    return 0;
  });
}

}  // namespace hull::cli
