// argv -> one operation. Thin: parsing, printing, exit codes. Two command tables that
// never share a verb's meaning: the OCI face (runc's) and the friendly face (docker-like).
#pragma once

namespace hull::cli {

int oci_main(int argc, char** argv);       // hull-oci ..., hull oci ...
int friendly_main(int argc, char** argv);  // hull ...
int main(int argc, char** argv);

}  // namespace hull::cli
