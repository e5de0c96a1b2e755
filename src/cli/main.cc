#include <CLI/CLI.hpp>

#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/demo.h"
#ifdef RS_HAVE_SERVE
#include "cli/serve.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"recordstore: a multi-tenant structured record store"};
  app.require_subcommand(1);

  // First, so that the global flags (--server, --tenant, ...) may follow any subcommand.
  recordstore::cli::AddClientCommands(app);
#ifdef RS_HAVE_SERVE
  recordstore::cli::AddServeCommand(app);
#endif

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

  std::vector<std::string> args = recordstore::cli::ShieldJsonArrays(argc, argv);
  std::vector<const char*> shielded;
  for (const std::string& arg : args) shielded.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(shielded.size()), shielded.data());
  } catch (const CLI::RuntimeError& e) {
    // A command failed and has said why; its exit code is documented (cli_util.h).
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    // Usage errors all exit 1 (CLI11's own codes vary by error kind); --help exits 0.
    int code = app.exit(e);
    return code == 0 ? 0 : recordstore::cli::kExitUsage;
  }
  if (demo->parsed()) return recordstore::cli::RunDemo(data_dir, threads, transfers);
  return 0;
}
