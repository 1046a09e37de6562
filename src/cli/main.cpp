#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "linux/self_image.h"
#include "util/error.h"
#include "util/fs.h"

namespace hull::cli {
namespace {

// The command line as the caller gave it, for a re-exec (the faces rewrite argv in place).
std::vector<char*> g_argv;
bool g_reexecuted = false;

// The verb of a command line before any parsing: the first word that is neither an option nor
// the value of one of the face's global options that take the next word (`valued`).
std::string_view verb_of(int argc, char** argv, std::initializer_list<std::string_view> valued) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.empty() || a == "--") return {};
    if (a[0] != '-') return a;
    if (std::find(valued.begin(), valued.end(), a) != valued.end()) ++i;  // "--root DIR"
  }
  return {};
}

// The verbs that make processes a container can see switch hull to a read-only image of itself
// (linux/self_image.h: remapped in place, or re-executed where that fails); doing it here,
// before the face builds and parses its whole command table, spares a re-executed image that
// work and leaves less of the text to fault in again after a remap (bench/README.md, issue
// 17). Only a shortcut: the verb's own run_from_read_only_image() stays, a no-op once the image
// is read-only, and reports any failure.
void reexec_early(std::string_view verb, std::initializer_list<std::string_view> entering) {
  if (verb.empty() || std::find(entering.begin(), entering.end(), verb) == entering.end()) return;
  try {
    linux::ensure_read_only_self_image(g_argv.data(), g_reexecuted);
  } catch (const Error&) {
  }
}

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
  // The OCI face's global options with a value (cli/oci.cpp), and the friendly face's.
  auto oci_verb = [](int n, char** v) {
    return verb_of(n, v, {"--root", "--log", "--log-format", "--criu", "--rootless"});
  };
  if (name == "hull-oci" || name == "runc") {
    reexec_early(oci_verb(argc, argv), {"create", "run", "exec"});
    return oci_main(argc, argv);
  }
  if (argc > 1 && std::strcmp(argv[1], "oci") == 0) {
    reexec_early(oci_verb(argc - 1, argv + 1), {"create", "run", "exec"});
    // "hull oci create ..." -> the OCI face with argv[0] = "hull oci".
    static char prog[] = "hull oci";
    argv[1] = prog;
    return oci_main(argc - 1, argv + 1);
  }
  reexec_early(verb_of(argc, argv, {"--root"}), {"run", "start", "exec", "tour"});
  return friendly_main(argc, argv);
}

}  // namespace hull::cli
