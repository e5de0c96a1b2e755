// `recordstore serve`: runs the Record-Store server (src/server/server.h) until SIGTERM or
// SIGINT, then shuts it down gracefully.
#ifndef RECORDSTORE_CLI_SERVE_H_
#define RECORDSTORE_CLI_SERVE_H_

#include <CLI/CLI.hpp>

namespace recordstore::cli {

// Registers the `serve` subcommand and its callback on `app`. The callback runs the server in
// the calling thread until a signal; on a startup error it prints the error and throws
// CLI::RuntimeError(1), which CLI11_PARSE turns into exit status 1.
void AddServeCommand(CLI::App& app);

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_SERVE_H_
