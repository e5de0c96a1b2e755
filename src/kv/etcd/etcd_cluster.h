// Runs a local etcd cluster (members on 127.0.0.1 with free ports and data directories of
// their own) for tests and benchmarks, and tears it down: every member is killed (SIGKILL)
// and its directory removed when the EtcdCluster is destroyed, and a member dies with the
// thread that started it (PR_SET_PDEATHSIG), so a crashed test leaves no etcd running.
//
// Members run with the settings the etcd backend expects (docs/operations.md):
// --max-txn-ops=100000, --max-request-bytes=16777216 and an 8 GB backend quota.
//
// Thread-safety: not thread-safe; one thread drives a cluster.
#ifndef RECORDSTORE_KV_ETCD_ETCD_CLUSTER_H_
#define RECORDSTORE_KV_ETCD_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recordstore/status.h"

namespace recordstore::kv::etcd {

struct EtcdClusterOptions {
  int members = 3;
  // Where member data directories go; empty means /dev/shm when it exists (fsync is then
  // cheap, as on a battery-backed disk), else the system temp directory.
  std::string data_root;
  // The etcd binary, looked up on PATH.
  std::string etcd_binary = "etcd";
};

class EtcdCluster {
 public:
  // Starts the members and waits until the cluster has a leader. Errors: not_found (8002)
  // when etcd is not installed, io_error (1510) when the cluster does not come up.
  static StatusOr<std::unique_ptr<EtcdCluster>> Start(const EtcdClusterOptions& options = {});
  ~EtcdCluster();

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:p1,127.0.0.1:p2,..." (client endpoints of all members).
  std::string Endpoints() const;
  // "etcd://<endpoints>/<prefix>".
  std::string Url(std::string_view prefix) const;

  // Waits until every running member reports the same leader. Errors: io_error (1510).
  Status WaitHealthy(std::chrono::milliseconds timeout);
  // The index of the current leader. Errors: io_error (1510) when there is none.
  StatusOr<int> Leader();
  // kill -9 of one member (no-op when it is not running).
  void Kill(int member);
  // Starts a killed member again on its data directory and ports.
  Status Restart(int member);
  bool running(int member) const { return members_[member].pid > 0; }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    pid_t pid = -1;
  };

  EtcdCluster(EtcdClusterOptions options, std::string root)
      : options_(std::move(options)), root_(std::move(root)) {}
  Status Launch(int member);

  EtcdClusterOptions options_;
  std::string root_;
  std::vector<Member> members_;
};

// The URL of a fresh database (a prefix of its own) on a 3-member cluster shared by the whole
// test process, started on first use and stopped at exit. When the cluster cannot start, the
// returned URL fails to open with the reason (tests fail loudly, never skip).
std::string SharedTestClusterUrl();

}  // namespace recordstore::kv::etcd

#endif  // RECORDSTORE_KV_ETCD_ETCD_CLUSTER_H_
