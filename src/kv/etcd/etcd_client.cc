#include "kv/etcd/etcd_client.h"

#include <algorithm>
#include <thread>

namespace recordstore::kv::etcd {
namespace {

bool Contains(const grpc::Status& status, std::string_view text) {
  return status.error_message().find(text) != std::string::npos;
}

void SetDeadline(grpc::ClientContext& context, Clock::time_point deadline) {
  Clock::time_point attempt_end = std::min(deadline, Clock::now() + kAttemptTimeout);
  context.set_deadline(std::chrono::system_clock::now() + (attempt_end - Clock::now()));
}

}  // namespace

bool IsUnreachable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
      return true;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // etcd's "too many requests" (the member's apply queue is behind); not a size limit.
      return Contains(status, "too many requests");
    default:
      return false;
  }
}

EtcdClient::EtcdClient(const std::vector<std::string>& endpoints) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // A killed member comes back within seconds; do not wait long to notice.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  for (const std::string& endpoint : endpoints) {
    Member member;
    member.channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
    member.kv = etcdserverpb::KV::NewStub(member.channel);
    member.watch = etcdserverpb::Watch::NewStub(member.channel);
    member.maintenance = etcdserverpb::Maintenance::NewStub(member.channel);
    members_.push_back(std::move(member));
  }
}

bool EtcdClient::MaybeApplied(const grpc::Status& status) {
  return !status.ok() && IsUnreachable(status);
}

Status EtcdClient::ToStatus(const grpc::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string detail = std::string(what) + ": " + status.error_message();
  if (Contains(status, "compacted")) return MakeError(ErrorCode::kTransactionTooOld, detail);
  if (Contains(status, "future revision")) return MakeError(ErrorCode::kFutureVersion, detail);
  if (Contains(status, "too large") || Contains(status, "too many operations")) {
    return MakeError(ErrorCode::kTransactionTooLarge, detail);
  }
  if (IsUnreachable(status)) return MakeError(ErrorCode::kIoError, "etcd unreachable: " + detail);
  // gRPC's own message size limit.
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return MakeError(ErrorCode::kTransactionTooLarge, detail);
  }
  return MakeError(ErrorCode::kInternalError, "etcd: " + detail);
}

void EtcdClient::Rotate(size_t failed) {
  size_t next = (failed + 1) % members_.size();
  current_.compare_exchange_strong(failed, next);
}

template <typename Call>
Status EtcdClient::WithFailover(Call call, Clock::time_point deadline, std::string_view what) {
  deadline = std::min(deadline, Clock::now() + kRetryBudget);
  std::chrono::milliseconds backoff{10};
  while (true) {
    size_t index = current_.load();
    grpc::ClientContext context;
    SetDeadline(context, deadline);
    grpc::Status status = call(members_[index], context);
    if (status.ok() || !IsUnreachable(status)) return ToStatus(status, what);
    Rotate(index);
    if (Clock::now() + backoff >= deadline) return ToStatus(status, what);
    // Every member was tried once in a row: give an election time before the next round.
    if ((index + 1) % members_.size() == 0) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
    }
  }
}

Status EtcdClient::Range(const etcdserverpb::RangeRequest& request,
                         etcdserverpb::RangeResponse* response, Clock::time_point deadline) {
  return WithFailover(
      [&](Member& m, grpc::ClientContext& context) {
        return m.kv->Range(&context, request, response);
      },
      deadline, "range");
}

Status EtcdClient::ReadTxn(const etcdserverpb::TxnRequest& request,
                           etcdserverpb::TxnResponse* response, Clock::time_point deadline) {
  return WithFailover(
      [&](Member& m, grpc::ClientContext& context) {
        return m.kv->Txn(&context, request, response);
      },
      deadline, "txn");
}

Status EtcdClient::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  etcdserverpb::CompactionResponse response;
  return WithFailover(
      [&](Member& m, grpc::ClientContext& context) {
        return m.kv->Compact(&context, request, &response);
      },
      Clock::time_point::max(), "compact");
}

Status EtcdClient::DeleteRange(const etcdserverpb::DeleteRangeRequest& request) {
  etcdserverpb::DeleteRangeResponse response;
  return WithFailover(
      [&](Member& m, grpc::ClientContext& context) {
        return m.kv->DeleteRange(&context, request, &response);
      },
      Clock::time_point::max(), "delete range");
}

Status EtcdClient::MemberStatus(size_t endpoint, etcdserverpb::StatusResponse* response,
                                std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  etcdserverpb::StatusRequest request;
  return ToStatus(members_[endpoint].maintenance->Status(&context, request, response), "status");
}

grpc::Status EtcdClient::TxnOnce(const etcdserverpb::TxnRequest& request,
                                 etcdserverpb::TxnResponse* response, Clock::time_point deadline) {
  size_t index = current_.load();
  grpc::ClientContext context;
  SetDeadline(context, deadline);
  grpc::Status status = members_[index].kv->Txn(&context, request, response);
  if (IsUnreachable(status)) Rotate(index);
  return status;
}

etcdserverpb::Watch::Stub& EtcdClient::WatchStub() { return *members_[current_.load()].watch; }

}  // namespace recordstore::kv::etcd
