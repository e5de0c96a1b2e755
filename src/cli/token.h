// `recordstore token mint|attenuate|inspect`: tokens made and read locally with the root key
// file (src/auth/access.h); `token revoke|revoked` talk to the server and live in client.cc.
#ifndef RECORDSTORE_CLI_TOKEN_H_
#define RECORDSTORE_CLI_TOKEN_H_

#include <CLI/CLI.hpp>
#include <string>

namespace recordstore::cli {

// Adds the `token` subcommand with mint, attenuate and inspect; returns it so that the
// client commands add the server-side ones. `global_token` (--token / RECORDSTORE_TOKEN) is
// the token attenuate and inspect read when none is given; it must outlive the parse.
CLI::App* AddTokenCommands(CLI::App& app, const std::string& global_token);

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_TOKEN_H_
