// The OCI face's stderr: debug/info/warning lines in runc's logrus layout
// (`time="..." level=debug msg="..."`, or JSON with --log-format json), as runc prints them
// when it has no --log. The friendly face keeps "hull: warning: ..." for people. Errors stay
// one "hull: ..." line on stderr on both faces (engines read the --log file).
#pragma once

namespace hull::log {

// Called after init(); the layout then applies to every later line.
void use_runc_layout_on_stderr();

}  // namespace hull::log
