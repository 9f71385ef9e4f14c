#include "switchboard/core/cli.hpp"

int main(int argc, char** argv) { return switchboard::core::run_cli(argc, argv); }
