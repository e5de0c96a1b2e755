#include "kv/etcd/etcd_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/status_macros.h"
#include "kv/etcd/etcd_client.h"

namespace recordstore::kv::etcd {
namespace {

// Free TCP ports: all bound to port 0 at once (so they are distinct), then released.
StatusOr<std::vector<int>> FreePorts(int count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      status = MakeError(ErrorCode::kIoError, "cannot find a free port");
    } else {
      ports.push_back(ntohs(address.sin_port));
    }
    if (fd >= 0) sockets.push_back(fd);
  }
  for (int fd : sockets) close(fd);
  RETURN_IF_ERROR(status);
  return ports;
}

bool OnPath(const std::string& binary) {
  if (binary.find('/') != std::string::npos) return access(binary.c_str(), X_OK) == 0;
  const char* path = getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + binary;
    if (access(candidate.c_str(), X_OK) == 0) return true;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return false;
}

std::string PeerUrl(int port) { return "http://127.0.0.1:" + std::to_string(port); }

}  // namespace

StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(const EtcdClusterOptions& options) {
  if (!OnPath(options.etcd_binary)) {
    return MakeError(
        ErrorCode::kNotFound,
        "'" + options.etcd_binary +
            "' is not installed: apt-get install etcd-server (scripts/install-deps.sh)");
  }
  std::string root_base = options.data_root;
  if (root_base.empty()) {
    std::error_code ec;
    root_base = std::filesystem::is_directory("/dev/shm", ec)
                    ? "/dev/shm"
                    : std::filesystem::temp_directory_path().string();
  }
  std::string root = root_base + "/recordstore-etcd-XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    return MakeError(ErrorCode::kIoError, "cannot create a directory under " + root_base);
  }
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(options, root));
  ASSIGN_OR_RETURN(std::vector<int> ports, FreePorts(2 * options.members));
  for (int i = 0; i < options.members; ++i) {
    Member member;
    member.name = std::string("m").append(std::to_string(i));
    member.client_port = ports[2 * static_cast<size_t>(i)];
    member.peer_port = ports[2 * static_cast<size_t>(i) + 1];
    member.data_dir = root + "/" + member.name;
    cluster->members_.push_back(std::move(member));
  }
  for (int i = 0; i < options.members; ++i) RETURN_IF_ERROR(cluster->Launch(i));
  RETURN_IF_ERROR(cluster->WaitHealthy(std::chrono::seconds(30)));
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string EtcdCluster::Endpoints() const {
  std::string endpoints;
  for (const Member& member : members_) {
    if (!endpoints.empty()) endpoints += ",";
    endpoints += "127.0.0.1:" + std::to_string(member.client_port);
  }
  return endpoints;
}

std::string EtcdCluster::Url(std::string_view prefix) const {
  return "etcd://" + Endpoints() + "/" + std::string(prefix);
}

Status EtcdCluster::Launch(int index) {
  Member& member = members_[index];
  std::string initial_cluster;
  for (const Member& m : members_) {
    if (!initial_cluster.empty()) initial_cluster += ",";
    initial_cluster += m.name + "=" + PeerUrl(m.peer_port);
  }
  std::string client_url = PeerUrl(member.client_port);
  std::vector<std::string> args = {
      options_.etcd_binary,
      "--name=" + member.name,
      "--data-dir=" + member.data_dir,
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + PeerUrl(member.peer_port),
      "--initial-advertise-peer-urls=" + PeerUrl(member.peer_port),
      "--initial-cluster=" + initial_cluster,
      "--initial-cluster-state=new",
      "--initial-cluster-token=" + root_,
      "--max-txn-ops=100000",
      "--max-request-bytes=16777216",
      "--quota-backend-bytes=8589934592",
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--logger=zap",
      "--log-level=error",
  };
  std::string log = member.data_dir + ".log";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return MakeError(ErrorCode::kIoError, "fork failed");
  if (pid == 0) {
    // The member dies with the thread that started it, even when that process crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  member.pid = pid;
  return absl::OkStatus();
}

void EtcdCluster::Kill(int index) {
  Member& member = members_[index];
  if (member.pid <= 0) return;
  kill(member.pid, SIGKILL);
  waitpid(member.pid, nullptr, 0);
  member.pid = -1;
}

Status EtcdCluster::Restart(int index) {
  if (running(index)) return absl::OkStatus();
  return Launch(index);
}

StatusOr<int> EtcdCluster::Leader() {
  EtcdClient client([&] {
    std::vector<std::string> endpoints;
    for (const Member& m : members_)
      endpoints.push_back("127.0.0.1:" + std::to_string(m.client_port));
    return endpoints;
  }());
  std::vector<uint64_t> ids(members_.size(), 0);
  uint64_t leader = 0;
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    etcdserverpb::StatusResponse response;
    if (!client.MemberStatus(i, &response, std::chrono::milliseconds(500)).ok()) continue;
    ids[i] = response.header().member_id();
    if (response.leader() != 0) leader = response.leader();
  }
  for (int i = 0; i < size(); ++i) {
    if (leader != 0 && ids[i] == leader) return i;
  }
  return MakeError(ErrorCode::kIoError, "the etcd cluster has no leader");
}

Status EtcdCluster::WaitHealthy(std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  std::vector<std::string> endpoints;
  for (const Member& m : members_)
    endpoints.push_back("127.0.0.1:" + std::to_string(m.client_port));
  Status last = MakeError(ErrorCode::kIoError, "no member answered");
  while (Clock::now() < deadline) {
    // Fresh channels each round: a starting member accepts connections before it serves
    // gRPC, and a channel whose first handshake stalled there waits out a long timeout.
    EtcdClient client(endpoints);
    for (int i = 0; i < size(); ++i) {
      if (running(i) && waitpid(members_[i].pid, nullptr, WNOHANG) == members_[i].pid) {
        members_[i].pid = -1;
        return MakeError(ErrorCode::kIoError, "etcd member " + members_[i].name + " exited; see " +
                                                  members_[i].data_dir + ".log");
      }
    }
    uint64_t leader = 0;
    bool agreed = true;
    for (int i = 0; i < size() && agreed; ++i) {
      if (!running(i)) continue;
      etcdserverpb::StatusResponse response;
      last = client.MemberStatus(i, &response, std::chrono::milliseconds(300));
      agreed = last.ok() && response.leader() != 0 && (leader == 0 || response.leader() == leader);
      if (agreed) leader = response.leader();
    }
    if (agreed && leader != 0) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string why(last.message());
  return MakeError(ErrorCode::kIoError, "etcd cluster not healthy: " + why);
}

std::string SharedTestClusterUrl() {
  static StatusOr<std::unique_ptr<EtcdCluster>>* cluster = [] {
    auto* started = new StatusOr<std::unique_ptr<EtcdCluster>>(EtcdCluster::Start());
    if (!started->ok()) {
      std::fprintf(stderr, "cannot start the etcd test cluster: %s\n",
                   started->status().ToString().c_str());
    }
    // Stops the members at exit (they also die with this process if it crashes).
    std::atexit([] {
      if (cluster->ok()) cluster->value().reset();
    });
    return started;
  }();
  if (!cluster->ok()) {
    std::string why(cluster->status().message());
    return "etcd-test-cluster-failed://" + why;
  }
  static std::atomic<int> databases{0};
  return (**cluster)->Url("test-" + std::to_string(getpid()) + "-" +
                          std::to_string(databases.fetch_add(1)));
}

}  // namespace recordstore::kv::etcd
