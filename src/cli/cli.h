// argv -> one operation. Thin: parsing, printing, exit codes. Two command tables that
// never share a verb's meaning: the OCI face (runc's) and the friendly face (docker-like).
#pragma once

namespace hull::cli {

int oci_main(int argc, char** argv);       // hull-oci ..., hull oci ...
int friendly_main(int argc, char** argv);  // hull ...
int main(int argc, char** argv);

// For the verbs that make processes a container can see: returns when hull runs from an image
// nothing can write, else re-executes the command line as given from one (linux/self_image.h).
void run_from_read_only_image();

}  // namespace hull::cli
