// `hull check`: one line per thing this host offers or lacks, green or red with the reason,
// then what the missing things cost: which hull features will not work here.
#pragma once

#include <string>

namespace hull::frontend {

struct CheckOutput {
  std::string text;
  bool essentials_ok = true;  // what every `hull run` needs: pid and mount namespaces, cgroups
};

// color: ANSI green/red (for a terminal).
CheckOutput check_text(bool color);
std::string check_json();

}  // namespace hull::frontend
