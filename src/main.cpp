#include "cli/cli.h"

int main(int argc, char** argv) { return hull::cli::main(argc, argv); }
