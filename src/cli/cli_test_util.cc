#include "cli/cli_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/status_macros.h"

namespace recordstore::cli {

namespace fs = std::filesystem;

std::string ReadFileOrEmpty(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFileOrDie(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

std::string OrderLines(int first, int last) {
  std::string lines;
  for (int id = first; id <= last; ++id) {
    lines += "{\"order_id\": " + std::to_string(id) +
             ", \"customer_id\": " + std::to_string(id % 3) +
             ", \"total\": " + std::to_string(id * 10) + ", \"shipping\": {\"city\": \"c" +
             std::to_string(id % 2) + "\"}}\n";
  }
  return lines;
}

CliResult CliRunner::Run(const std::string& args, const std::string& input,
                         const std::string* token) const {
  WriteFileOrDie(scratch_dir_ / "stdin", input);
  const std::string& sent_token = token != nullptr ? *token : token_;
  // Tokens are base64url: no character the shell would interpret.
  std::string command =
      "env -u RECORDSTORE_TENANT -u RECORDSTORE_SPACE -u RECORDSTORE_TOKEN " +
      (sent_token.empty() ? std::string() : "RECORDSTORE_TOKEN=" + sent_token + " ") +
      "RECORDSTORE_SERVER=" + server_address_ + " " + binary_ + " " + args + " <" +
      (scratch_dir_ / "stdin").string() +
      " >" + (scratch_dir_ / "stdout").string() + " 2>" + (scratch_dir_ / "stderr").string();
  int status = std::system(command.c_str());
  CliResult result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFileOrEmpty(scratch_dir_ / "stdout");
  result.err = ReadFileOrEmpty(scratch_dir_ / "stderr");
  return result;
}

StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& binary,
                                                              const std::vector<std::string>& args,
                                                              fs::path log,
                                                              std::chrono::milliseconds timeout) {
  std::vector<std::string> argv_strings = {binary, "serve"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Opened before the fork so the child only calls async-signal-safe functions.
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (log_fd < 0) return MakeError(ErrorCode::kIoError, "cannot create " + log.string());
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return MakeError(ErrorCode::kIoError, "fork failed");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, std::move(log)));

  // The first line names the gRPC address: "recordstore: gRPC listening on HOST:PORT (...)".
  const std::string marker = "gRPC listening on ";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::string printed = server->Log();
    const size_t at = printed.find(marker);
    const size_t end = at == std::string::npos ? at : printed.find(' ', at + marker.size());
    if (end != std::string::npos) {
      server->address_ = printed.substr(at + marker.size(), end - at - marker.size());
      return server;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return MakeError(ErrorCode::kIoError, "recordstore serve printed no address within " +
                                                std::to_string(timeout.count()) +
                                                " ms; its log:\n" + printed);
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return MakeError(ErrorCode::kIoError, "recordstore serve exited (status " +
                                                std::to_string(status) +
                                                ") before listening; its log:\n" + server->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int ServerProcess::WaitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = WaitForExit(timeout);
  if (code == -1 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return code;
}

}  // namespace recordstore::cli
