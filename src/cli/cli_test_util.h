// Helpers for tests that drive the real `recordstore` binary: one function through which every
// client command runs (CliRunner::Run), and a `recordstore serve` child process
// (ServerProcess). Test-only (library rs_cli_test_util).
#ifndef RECORDSTORE_CLI_CLI_TEST_UTIL_H_
#define RECORDSTORE_CLI_CLI_TEST_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "recordstore/status.h"

namespace recordstore::cli {

// What one command did: its exit code (-1 when it did not exit normally), stdout and stderr.
struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadFileOrEmpty(const std::filesystem::path& path);
void WriteFileOrDie(const std::filesystem::path& path, const std::string& text);

// Order records as JSON lines, ids first..last: customer (id % 3), total id * 10, shipped to
// city "c<id % 2>" (the shop schema's Order, src/metadata/testdata/shop).
std::string OrderLines(int first, int last);

// Runs client commands of the `recordstore` binary `binary` against the server at
// `server_address`, with scratch files (stdin, stdout, stderr) in `scratch_dir` (which must
// exist). Not thread-safe: one command at a time.
class CliRunner {
 public:
  CliRunner(std::string binary, std::filesystem::path scratch_dir)
      : binary_(std::move(binary)), scratch_dir_(std::move(scratch_dir)) {}

  void set_server(std::string address) { server_address_ = std::move(address); }
  // The bearer token commands send (RECORDSTORE_TOKEN); empty: none.
  void set_token(std::string token) { token_ = std::move(token); }

  // Runs `recordstore <args>` (shell words) with `input` on stdin, the server's address in
  // RECORDSTORE_SERVER, `token` (by default the one set_token gave) in RECORDSTORE_TOKEN and
  // the other RECORDSTORE_* variables cleared.
  CliResult Run(const std::string& args, const std::string& input = "",
                const std::string* token = nullptr) const;

 private:
  std::string binary_;
  std::filesystem::path scratch_dir_;
  std::string server_address_;
  std::string token_;
};

// `recordstore serve <args>` as a child process whose stdout and stderr go to a log file. The
// child gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG) and when the
// ServerProcess is destroyed while it still runs, so a failing test leaves no server behind.
class ServerProcess {
 public:
  // Starts the server and waits until it prints the address it listens on. Errors:
  // io_error (1510) when it exits first or prints nothing within `timeout`; the message
  // quotes its log.
  static StatusOr<std::unique_ptr<ServerProcess>> Start(const std::string& binary,
                                                        const std::vector<std::string>& args,
                                                        std::filesystem::path log,
                                                        std::chrono::milliseconds timeout);
  ~ServerProcess();

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // "host:port" of the gRPC listener, as the server printed it.
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // Everything the server printed so far.
  std::string Log() const { return ReadFileOrEmpty(log_); }

  // Sends SIGTERM and waits up to `timeout` for the process to exit. Returns its exit code,
  // 128 + signal when a signal ended it, or -1 when it was still running (it is then killed).
  int Terminate(std::chrono::milliseconds timeout);

 private:
  ServerProcess(pid_t pid, std::filesystem::path log) : pid_(pid), log_(std::move(log)) {}
  // Waits up to `timeout` for the child to exit; its status as Terminate returns it.
  int WaitForExit(std::chrono::milliseconds timeout);

  pid_t pid_;
  std::filesystem::path log_;
  std::string address_;
};

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_CLI_TEST_UTIL_H_
