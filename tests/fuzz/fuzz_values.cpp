// libFuzzer target: the friendly face's value parsers (docker's flag values: sizes, cpus,
// cpusets, ulimits, volumes, tmpfs, env, sysctls, host names, ports, rates). The first byte
// picks the parser, the rest is the value. Refusals are hull::Error; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/docker_values.h"
#include "net/options.h"
#include "net/shaping.h"
#include "util/error.h"
#include "util/strings.h"

using namespace hull;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string v(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 14) {
      case 0:
        frontend::parse_bytes("--memory", v, true);
        break;
      case 1:
        frontend::parse_cpus(v, 4);
        break;
      case 2:
        frontend::parse_cpuset(v, 4);
        break;
      case 3:
        frontend::parse_int("--cpu-shares", v, 2, 262144);
        break;
      case 4:
        frontend::parse_ulimit(v);
        break;
      case 5:
        frontend::parse_volume(v);
        break;
      case 6:
        frontend::parse_tmpfs(v);
        break;
      case 7:
        frontend::parse_env("-e", v);
        break;
      case 8:
        frontend::parse_env_file("env.list", v);
        break;
      case 9:
        frontend::parse_sysctl(v);
        break;
      case 10:
        frontend::check_hostname(v);
        break;
      case 11:
        net::parse_publish(v);
        break;
      case 12:
        net::parse_rate(v);
        break;
      case 13:
        parse_size(v);
        break;
    }
  } catch (const Error&) {
  }
  return 0;
}
