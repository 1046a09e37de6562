#include <cstring>

#include "cli/cli.h"
#include "util/fs.h"

namespace hull::cli {

int main(int argc, char** argv) {
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
