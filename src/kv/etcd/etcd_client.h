// A thin client for an etcd v3 cluster: one gRPC channel per endpoint, failover between them,
// and etcd's errors mapped onto the error table.
//
// Thread-safety: all methods may be called concurrently.
#ifndef RECORDSTORE_KV_ETCD_ETCD_CLIENT_H_
#define RECORDSTORE_KV_ETCD_ETCD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kv/etcd/etcd_rpc.grpc.pb.h"
#include "recordstore/status.h"

namespace recordstore::kv::etcd {

using Clock = std::chrono::steady_clock;

// How long one RPC attempt may take before it is abandoned (and, for idempotent requests,
// retried on the next endpoint).
inline constexpr std::chrono::milliseconds kAttemptTimeout{3000};
// How long idempotent requests keep retrying across endpoints (an election takes ~1-2 s).
inline constexpr std::chrono::milliseconds kRetryBudget{15000};

class EtcdClient {
 public:
  // `endpoints` are "host:port" strings. REQUIRES: not empty.
  explicit EtcdClient(const std::vector<std::string>& endpoints);

  // Idempotent requests: retried on the next endpoint when a member is unreachable or has no
  // leader, until `deadline` (at most kRetryBudget from now). Errors: transaction_too_old
  // (1007) for a compacted revision, future_version (1009) for a revision not applied yet,
  // transaction_too_large (2101) for a request the cluster refuses as too big, io_error
  // (1510) when no member answered in time.
  Status Range(const etcdserverpb::RangeRequest& request, etcdserverpb::RangeResponse* response,
               Clock::time_point deadline = Clock::time_point::max());
  // Only for transactions without writes (reads, or compares that guard reads).
  Status ReadTxn(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response,
                 Clock::time_point deadline = Clock::time_point::max());
  Status Compact(int64_t revision);
  Status DeleteRange(const etcdserverpb::DeleteRangeRequest& request);
  Status MemberStatus(size_t endpoint, etcdserverpb::StatusResponse* response,
                      std::chrono::milliseconds timeout);

  // One attempt of a Txn on the current endpoint; the raw gRPC status lets the caller tell
  // "not applied" from "maybe applied". Rotates to the next endpoint when that one failed.
  grpc::Status TxnOnce(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response,
                       Clock::time_point deadline);

  // The Watch stub of the current endpoint.
  etcdserverpb::Watch::Stub& WatchStub();

  // True when `status` says the request may have reached the cluster and been applied.
  static bool MaybeApplied(const grpc::Status& status);
  // Maps an etcd error onto the error table.
  static Status ToStatus(const grpc::Status& status, std::string_view what);

 private:
  struct Member {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  };

  // Runs `call(stub)` with failover until it succeeds, fails for a reason other than
  // reachability, or `deadline` passes.
  template <typename Call>
  Status WithFailover(Call call, Clock::time_point deadline, std::string_view what);
  // Moves to the endpoint after `failed` (unless another thread already moved).
  void Rotate(size_t failed);

  std::vector<Member> members_;
  std::atomic<size_t> current_{0};
};

// True when `status` is a retryable transport failure (member down, no leader, timeout).
bool IsUnreachable(const grpc::Status& status);

}  // namespace recordstore::kv::etcd

#endif  // RECORDSTORE_KV_ETCD_ETCD_CLIENT_H_
