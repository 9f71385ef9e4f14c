#pragma once

namespace switchboard::core {

// Runs the `switchboard` command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace switchboard::core
