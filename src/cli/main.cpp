#include <cstdlib>
#include <cstring>
#include <vector>

#include "cli/cli.h"
#include "linux/self_image.h"
#include "util/fs.h"

namespace hull::cli {
namespace {

// The command line as the caller gave it, for a re-exec (the faces rewrite argv in place).
std::vector<char*> g_argv;
bool g_reexecuted = false;

}  // namespace

void run_from_read_only_image() {
  linux::ensure_read_only_self_image(g_argv.data(), g_reexecuted);
}

int main(int argc, char** argv) {
  g_argv.assign(argv, argv + argc);
  g_argv.push_back(nullptr);
  // Nothing hull starts may inherit the marker.
  if (std::getenv(linux::kReexecMarker)) {
    g_reexecuted = true;
    ::unsetenv(linux::kReexecMarker);
  }
  std::string name = argc > 0 ? basename_of(argv[0]) : "hull";
  if (name == "hull-oci" || name == "runc") return oci_main(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "oci") == 0) {
    // "hull oci create ..." -> the OCI face with argv[0] = "hull oci".
    static char prog[] = "hull oci";
    argv[1] = prog;
    return oci_main(argc - 1, argv + 1);
  }
  return friendly_main(argc, argv);
}

}  // namespace hull::cli
