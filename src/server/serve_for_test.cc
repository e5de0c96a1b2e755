// `recordstore serve` alone: the binary ServeCommandTest starts and signals (the full
// recordstore binary is built in src/cli).
#include <CLI/CLI.hpp>

#include "cli/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"serve_for_test"};
  app.require_subcommand(1);
  recordstore::cli::AddServeCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
