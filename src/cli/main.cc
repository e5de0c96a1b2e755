#include <CLI/CLI.hpp>

#include "cli/demo.h"

int main(int argc, char** argv) {
  CLI::App app{"recordstore: a multi-tenant structured record store"};
  app.require_subcommand(1);

  std::string data_dir = "data";
  int threads = 4;
  int transfers = 250;
  CLI::App* demo =
      app.add_subcommand("demo", "Tour the transactional KV engine on a durable data directory");
  demo->add_option("--data-dir", data_dir, "Where the store lives (created when missing)")
      ->capture_default_str();
  demo->add_option("--threads", threads, "Concurrent clients")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  demo->add_option("--transfers", transfers, "Transfers per client")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (demo->parsed()) return recordstore::cli::RunDemo(data_dir, threads, transfers);
  return 0;
}
