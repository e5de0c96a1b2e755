// The client commands of the `recordstore` binary: tenant (with rotate-key and key-status),
// space, schema, put, get, delete, query, explain, index status and token revoke/revoked, talking to a server over gRPC
// (proto/recordstore/v1), and the local token commands (token.h).
//
// Output goes to stdout as tables (default) or JSON (--format=json, one JSON value per line);
// errors go to stderr as "recordstore: <CODE>: <message>" and end the command with an exit
// code of cli_util.h (kExitServer for the server's errors). docs/operations.md, "CLI", lists
// every command.
#ifndef RECORDSTORE_CLI_CLIENT_H_
#define RECORDSTORE_CLI_CLIENT_H_

#include <CLI/CLI.hpp>

namespace recordstore::cli {

// Registers the client subcommands and the global flags (--server, --token, --tenant,
// --space, --format, --deadline, each with its environment variable) on `app`. A command
// that fails throws CLI::RuntimeError(exit code) from its callback after printing the error.
// REQUIRES: called before any subcommand is added, so that the global flags may follow
// subcommands (fallthrough is inherited).
void AddClientCommands(CLI::App& app);

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_CLIENT_H_
