// The friendly face (docker-like commands). Until its commands land it points at the OCI face.
#include <cstdio>

#include "cli/cli.h"

namespace hull::cli {

int friendly_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "usage: hull oci <command> ... (runc's command line); see README.md\n");
  return 1;
}

}  // namespace hull::cli
