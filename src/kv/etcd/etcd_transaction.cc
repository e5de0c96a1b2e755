#include "kv/etcd/etcd_transaction.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "common/status_macros.h"
#include "kv/atomic_ops.h"
#include "kv/read_your_writes.h"

namespace recordstore::kv::etcd {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

// A commit round trip to etcd takes a millisecond or more; retries start a little later than
// the engine's, doubling up to TransactionOptions::max_retry_delay.
constexpr std::chrono::milliseconds kInitialRetryDelay{2};
// What the cluster is started with (docs/operations.md): --max-txn-ops=100000,
// --max-request-bytes=16777216. A commit that does not fit fails before it is sent.
constexpr int kMaxEtcdTxnOps = 100'000;
constexpr size_t kMaxEtcdRequestBytes = (16 << 20) - 4096;
// Internal retries of a commit whose guarded inputs (atomic-op keys, cleared ranges, the
// clock) changed between reading and committing. Each loser retries at once with the values
// the failed attempt returned, so this only runs out under pathological contention.
constexpr int kMaxGuardRetries = 10'000;
// Re-sends of a commit whose outcome is unknown (member down, leader change, timeout).
constexpr int kMaxUnknownResultRetries = 12;
// Range reads fetch at most this many rows per request.
constexpr int kMaxPageRows = 10'000;

// The live committed rows of a user range at one revision, in one direction, fetched a page
// at a time (tombstones skipped).
class StoredRange {
 public:
  StoredRange(EtcdDatabase* db, int64_t revision, std::string begin, std::string end, bool reverse,
              int first_page, Clock::time_point deadline)
      : db_(db),
        revision_(revision),
        low_(std::move(begin)),
        high_(std::move(end)),
        reverse_(reverse),
        page_rows_(std::clamp(first_page, 1, kMaxPageRows)),
        deadline_(deadline) {
    Fetch();
  }

  bool Valid() const { return status_.ok() && position_ < rows_.size(); }
  std::string_view key() const { return rows_[position_].key; }
  std::string_view value() const { return rows_[position_].value; }
  const Status& status() const { return status_; }

  void Next() {
    ++position_;
    if (position_ >= rows_.size() && more_) Fetch();
  }

  // Forward: to the first key >= `key`. Reverse: to the last key < `key`.
  void SkipTo(std::string_view key) {
    while (Valid() && (reverse_ ? this->key() >= key : this->key() < key)) {
      ++position_;
    }
    if (position_ < rows_.size() || !more_) return;
    if (reverse_) {
      high_ = std::min(high_, std::string(key));
    } else {
      low_ = std::max(low_, std::string(key));
    }
    Fetch();
  }

 private:
  // Fetches the next page of the remaining window [low_, high_).
  void Fetch() {
    rows_.clear();
    position_ = 0;
    more_ = false;
    while (status_.ok() && rows_.empty() && low_ < high_) {
      const Layout& layout = db_->layout();
      RangeRequest request;
      request.set_key(layout.DataKey(low_));
      request.set_range_end(layout.DataKey(high_));
      request.set_revision(revision_);
      request.set_limit(page_rows_);
      if (reverse_) {
        request.set_sort_order(RangeRequest::DESCEND);
        request.set_sort_target(RangeRequest::KEY);
      }
      RangeResponse response;
      status_ = db_->ReadAt(request, &response, deadline_);
      if (!status_.ok()) return;
      for (const auto& kv : response.kvs()) {
        std::optional<std::string_view> value = Layout::Decode(kv.value());
        if (value.has_value()) {
          rows_.push_back({std::string(layout.UserKey(kv.key())), std::string(*value)});
        }
      }
      more_ = response.more() && response.kvs_size() > 0;
      if (!more_) {
        low_ = high_;
      } else if (reverse_) {
        high_ = std::string(layout.UserKey(response.kvs().rbegin()->key()));
      } else {
        low_ = KeyAfter(layout.UserKey(response.kvs().rbegin()->key()));
      }
      page_rows_ = std::min(page_rows_ * 2, kMaxPageRows);
    }
    if (rows_.empty()) more_ = false;
  }

  EtcdDatabase* const db_;
  const int64_t revision_;
  std::string low_;
  std::string high_;
  const bool reverse_;
  int page_rows_;
  const Clock::time_point deadline_;
  std::vector<KeyValue> rows_;
  size_t position_ = 0;
  bool more_ = false;  // the window holds rows past rows_
  Status status_;
};

// --- Commit building blocks ---

Compare ModLess(std::string key, std::string range_end, int64_t revision) {
  Compare compare;
  compare.set_target(Compare::MOD);
  compare.set_result(Compare::LESS);
  compare.set_key(std::move(key));
  if (!range_end.empty()) compare.set_range_end(std::move(range_end));
  compare.set_mod_revision(revision);
  return compare;
}

RequestOp RangeOp(std::string key, std::string range_end, bool keys_only) {
  RequestOp op;
  RangeRequest* range = op.mutable_request_range();
  range->set_key(std::move(key));
  if (!range_end.empty()) range->set_range_end(std::move(range_end));
  range->set_keys_only(keys_only);
  return op;
}

RequestOp PutOp(std::string key, std::string value) {
  RequestOp op;
  op.mutable_request_put()->set_key(std::move(key));
  op.mutable_request_put()->set_value(std::move(value));
  return op;
}

std::string RandomBytes(size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  return bytes;
}

// What a commit must write, resolved from the write set. Keys are user keys.
struct CommitPlan {
  // Keys whose final value the transaction knows: a value, or nullopt for a tombstone.
  std::map<std::string, std::optional<std::string>> known;
  // Keys with atomic ops on a value only etcd knows (read at commit, guarded).
  std::map<std::string, const LocalWrite*> pending;
  // Cleared ranges (every stored key in them gets a tombstone unless written since).
  std::vector<std::pair<std::string, std::string>> cleared;
  // SET_VERSIONSTAMPED_VALUE: key -> parameter; SET_VERSIONSTAMPED_KEY: (parameter, value).
  std::map<std::string, std::string> stamped_values;
  std::vector<std::pair<std::string, std::string>> stamped_keys;
  // Explicit write conflict ranges: begin -> end.
  std::map<std::string, std::string> write_ranges;

  bool needs_stamp() const { return !stamped_values.empty() || !stamped_keys.empty(); }
};

// The latest state of the inputs a commit computes from, read in one etcd revision.
struct Observed {
  int64_t revision = 0;
  std::map<std::string, std::pair<std::optional<std::string>, int64_t>> pending;  // value, mod
  std::vector<std::vector<std::string>> cleared_keys;  // user keys per cleared range
  Version clock = 0;
};

// The read ops whose results fill Observed, in the order ParseObserved expects.
std::vector<RequestOp> ObserveOps(const CommitPlan& plan, const Layout& layout) {
  std::vector<RequestOp> ops;
  for (const auto& [key, write] : plan.pending)
    ops.push_back(RangeOp(layout.DataKey(key), "", false));
  for (const auto& [begin, end] : plan.cleared) {
    ops.push_back(RangeOp(layout.DataKey(begin), layout.DataKey(end), /*keys_only=*/true));
  }
  if (plan.needs_stamp()) ops.push_back(RangeOp(layout.ClockKey(), "", true));
  return ops;
}

Status ParseObserved(const CommitPlan& plan, const Layout& layout, int64_t revision,
                     const google::protobuf::RepeatedPtrField<etcdserverpb::ResponseOp>& responses,
                     Observed* observed) {
  size_t expected = plan.pending.size() + plan.cleared.size() + (plan.needs_stamp() ? 1 : 0);
  if (static_cast<size_t>(responses.size()) != expected) {
    return MakeError(ErrorCode::kInternalError, "etcd returned an unexpected number of results");
  }
  observed->revision = revision;
  observed->pending.clear();
  observed->cleared_keys.clear();
  int i = 0;
  for (const auto& [key, write] : plan.pending) {
    const RangeResponse& r = responses[i++].response_range();
    if (r.kvs_size() == 0) {
      observed->pending[key] = {std::nullopt, 0};
    } else {
      std::optional<std::string_view> value = Layout::Decode(r.kvs(0).value());
      observed->pending[key] = {value ? std::optional<std::string>(*value) : std::nullopt,
                                r.kvs(0).mod_revision()};
    }
  }
  for (size_t c = 0; c < plan.cleared.size(); ++c) {
    const RangeResponse& r = responses[i++].response_range();
    std::vector<std::string> keys;
    for (const auto& kv : r.kvs()) keys.emplace_back(layout.UserKey(kv.key()));
    observed->cleared_keys.push_back(std::move(keys));
  }
  if (plan.needs_stamp()) {
    const RangeResponse& r = responses[i++].response_range();
    observed->clock = r.kvs_size() == 0 ? 0 : r.kvs(0).version();
  }
  return absl::OkStatus();
}

}  // namespace

EtcdTransaction::EtcdTransaction(EtcdDatabase* db, const TransactionOptions& options)
    : db_(db), options_(options), created_(Clock::now()) {}

EtcdTransaction::~EtcdTransaction() {
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction destroyed"));
}

Status EtcdTransaction::CheckUsable() const {
  if (cancelled_) return MakeError(ErrorCode::kTransactionCancelled);
  if (options_.timeout.count() > 0 && Clock::now() - created_ > options_.timeout) {
    return MakeError(ErrorCode::kTransactionTimedOut,
                     "timeout of " + std::to_string(options_.timeout.count()) + " ms elapsed");
  }
  if (committed_) {
    return MakeError(ErrorCode::kClientInvalidOperation,
                     "the transaction has committed; Reset() it before reuse");
  }
  return absl::OkStatus();
}

Clock::time_point EtcdTransaction::Deadline() const {
  if (options_.timeout.count() == 0) return Clock::time_point::max();
  return created_ + options_.timeout;
}

Status EtcdTransaction::TimeoutOr(Status error) const {
  if (!error.ok() && Clock::now() >= Deadline()) {
    return MakeError(ErrorCode::kTransactionTimedOut,
                     "timeout of " + std::to_string(options_.timeout.count()) + " ms elapsed");
  }
  return error;
}

StatusOr<ReadPoint> EtcdTransaction::ReadPointForUse() {
  RETURN_IF_ERROR(CheckUsable());
  if (!read_.has_value()) {
    auto point = db_->AcquireReadVersion(requested_read_version_, Deadline());
    if (!point.ok()) return TimeoutOr(point.status());
    read_ = *point;
  }
  if (Clock::now() - read_->taken > kMaxReadVersionAge) {
    return MakeError(ErrorCode::kTransactionTooOld, "read version is older than 5 seconds");
  }
  return *read_;
}

StatusOr<Version> EtcdTransaction::GetReadVersion() {
  ASSIGN_OR_RETURN(ReadPoint point, ReadPointForUse());
  return point.version;
}

void EtcdTransaction::SetReadVersion(Version version) { requested_read_version_ = version; }

StatusOr<std::optional<std::string>> EtcdTransaction::ReadStored(std::string_view key) {
  RangeRequest request;
  request.set_key(db_->layout().DataKey(key));
  RangeResponse response;
  if (!read_.has_value() && !requested_read_version_.has_value()) {
    // The first read of a transaction at the latest version travels with the read version.
    RETURN_IF_ERROR(CheckUsable());
    auto point = db_->AcquireReadVersionWith(request, &response, Deadline());
    if (!point.ok()) return TimeoutOr(point.status());
    read_ = *point;
  } else {
    ASSIGN_OR_RETURN(ReadPoint point, ReadPointForUse());
    request.set_revision(point.revision);
    Status status = db_->ReadAt(request, &response, Deadline());
    if (!status.ok()) return TimeoutOr(status);
  }
  if (response.kvs_size() == 0) return std::optional<std::string>();
  std::optional<std::string_view> value = Layout::Decode(response.kvs(0).value());
  if (!value.has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(*value));
}

StatusOr<std::optional<std::string>> EtcdTransaction::ReadKey(std::string_view key, bool snapshot) {
  const LocalWrite* local = writes_.Find(key);
  if (local != nullptr && local->kind != LocalWrite::Kind::kPendingOps) {
    RETURN_IF_ERROR(CheckUsable());
    if (local->kind == LocalWrite::Kind::kUnreadable) return UnreadableError();
    return LocalValue(*local, std::nullopt);
  }
  if (local == nullptr && writes_.IsCleared(key)) {
    RETURN_IF_ERROR(CheckUsable());
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadStored(key));
  if (!snapshot) AddReadRange(std::string(key), KeyAfter(key));
  if (local == nullptr) return stored;
  std::optional<std::string_view> base;
  if (stored.has_value()) base = *stored;
  return LocalValue(*local, base);
}

StatusOr<std::optional<std::string>> EtcdTransaction::Get(std::string_view key, bool snapshot) {
  if (IsSystemKey(key)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff");
  }
  return ReadKey(key, snapshot);
}

StatusOr<RangeResult> EtcdTransaction::GetRange(const RangeEndpoint& begin,
                                                const RangeEndpoint& end,
                                                const RangeOptions& options) {
  ASSIGN_OR_RETURN(ByteRange range, ResolveRange(begin, end, options));
  RETURN_IF_ERROR(CheckUsable());
  if (range.begin >= range.end) return RangeResult{};
  ASSIGN_OR_RETURN(ReadPoint point, ReadPointForUse());

  // One row more than the limit tells whether there are more.
  int first_page = options.limit > 0 ? options.limit + 1 : 256;
  StoredRange stored(db_, point.revision, range.begin, range.end, options.reverse, first_page,
                     Deadline());
  StatusOr<RangeResult> result = MergeRange(stored, writes_, range, options);
  if (!result.ok()) return TimeoutOr(result.status());
  if (!options.snapshot) {
    ByteRange observed = ObservedRange(std::move(range), *result, options.reverse);
    AddReadRange(std::move(observed.begin), std::move(observed.end));
  }
  return result;
}

StatusOr<std::shared_ptr<Watch>> EtcdTransaction::WatchKey(std::string_view key) {
  if (IsSystemKey(key)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff");
  }
  // The watch compares against the value this transaction sees now (without a conflict).
  ASSIGN_OR_RETURN(std::optional<std::string> expected, ReadKey(key, /*snapshot=*/true));
  RETURN_IF_ERROR(db_->ReserveWatch());
  auto watch = std::make_shared<EtcdWatch>(std::string(key), std::move(expected));
  pending_watches_.push_back(watch);
  return std::shared_ptr<Watch>(watch);
}

void EtcdTransaction::AbandonWatches(const Status& why) {
  for (const auto& watch : pending_watches_) {
    watch->Complete(why);
    db_->ReleaseWatch();
  }
  pending_watches_.clear();
}

Status EtcdTransaction::Commit() {
  Status status = CheckUsable();
  if (status.ok()) status = deferred_error_;
  if (status.ok() && GetApproximateSize() > kMaxTransactionSize) {
    status = MakeError(
        ErrorCode::kTransactionTooLarge,
        "transaction of " + std::to_string(GetApproximateSize()) + " bytes exceeds 10,000,000");
  }
  if (status.ok() && read_.has_value() && Clock::now() - read_->taken > kMaxReadVersionAge) {
    status = MakeError(ErrorCode::kTransactionTooOld, "read version is older than 5 seconds");
  }
  if (status.ok() && (!writes_.empty() || !write_ranges_.empty())) status = CommitWrites();
  if (!status.ok()) {
    AbandonWatches(status);
    return status;
  }
  committed_ = true;
  for (const auto& watch : pending_watches_) db_->ActivateWatch(watch);
  pending_watches_.clear();
  return absl::OkStatus();
}

Status EtcdTransaction::CommitWrites() {
  const Layout& layout = db_->layout();
  const Clock::time_point deadline = Deadline();

  CommitPlan plan;
  for (const auto& [key, write] : writes_.writes()) {
    switch (write.kind) {
      case LocalWrite::Kind::kValue:
        plan.known[key] = write.value;
        break;
      case LocalWrite::Kind::kCleared:
        plan.known[key] = std::nullopt;
        break;
      case LocalWrite::Kind::kPendingOps:
        plan.pending[key] = &write;
        break;
      case LocalWrite::Kind::kUnreadable:
        break;  // the operand comes from the log below
    }
  }
  for (const Mutation& m : writes_.log()) {
    if (m.kind == Mutation::Kind::kClearRange && m.key < m.param) {
      plan.cleared.emplace_back(m.key, m.param);
    } else if (m.kind == Mutation::Kind::kAtomic &&
               m.atomic_type == MutationType::kSetVersionstampedKey) {
      plan.stamped_keys.emplace_back(m.key, m.param);
    } else if (m.kind == Mutation::Kind::kAtomic &&
               m.atomic_type == MutationType::kSetVersionstampedValue) {
      const LocalWrite* now = writes_.Find(m.key);
      if (now != nullptr && now->kind == LocalWrite::Kind::kUnreadable) {
        plan.stamped_values[m.key] = m.param;
      }
    }
  }
  for (const auto& [begin, end] : write_ranges_) {
    std::string& stored_end = plan.write_ranges[begin];
    stored_end = std::max(stored_end, end);
  }

  const int64_t now_micros = WallMicros();
  const std::string marker = layout.Section('i') + EncodeTime(now_micros) + RandomBytes(16);

  // Outer compares: what the transaction read is unchanged since its read revision (also
  // explicit write conflict ranges of others that begin before the end of a read range),
  // and this commit has not been applied yet.
  std::vector<Compare> read_guards;
  if (read_.has_value() && !read_ranges_.empty()) {
    const int64_t after = read_->revision + 1;
    std::string max_end;
    for (const auto& [begin, end] : read_ranges_) {
      if (end == KeyAfter(begin)) {
        read_guards.push_back(ModLess(layout.DataKey(begin), "", after));
      } else {
        read_guards.push_back(ModLess(layout.DataKey(begin), layout.DataKey(end), after));
      }
      max_end = std::max(max_end, end);
    }
    read_guards.push_back(ModLess(layout.Section('w'), layout.Section('w') + max_end, after));
  }
  Compare marker_absent;
  marker_absent.set_target(Compare::CREATE);
  marker_absent.set_result(Compare::EQUAL);
  marker_absent.set_key(marker);
  marker_absent.set_create_revision(0);

  const bool needs_observe = !plan.pending.empty() || !plan.cleared.empty() || plan.needs_stamp();
  std::optional<Observed> observed;
  if (needs_observe) {
    TxnRequest lookup;
    for (RequestOp& op : ObserveOps(plan, layout)) *lookup.add_success() = std::move(op);
    TxnResponse response;
    Status status = db_->client().ReadTxn(lookup, &response, deadline);
    if (!status.ok()) return TimeoutOr(status);
    observed.emplace();
    RETURN_IF_ERROR(ParseObserved(plan, layout, response.header().revision(), response.responses(),
                                  &*observed));
  }

  for (int guard_attempt = 0;; ++guard_attempt) {
    if (guard_attempt == kMaxGuardRetries) {
      return MakeError(ErrorCode::kNotCommitted,
                       "the keys of atomic operations kept changing during the commit");
    }
    // The final value of every data key this commit writes (nullopt: tombstone).
    std::map<std::string, std::optional<std::string>> final_values;
    TxnRequest inner;
    std::string stamp;
    if (observed.has_value()) {
      for (size_t c = 0; c < plan.cleared.size(); ++c) {
        for (const std::string& key : observed->cleared_keys[c]) final_values[key] = std::nullopt;
        inner.add_compare()->CopyFrom(ModLess(layout.DataKey(plan.cleared[c].first),
                                              layout.DataKey(plan.cleared[c].second),
                                              observed->revision + 1));
      }
    }
    for (const auto& [key, value] : plan.known) final_values[key] = value;
    if (observed.has_value()) {
      for (const auto& [key, write] : plan.pending) {
        const auto& [base, mod_revision] = observed->pending.at(key);
        std::optional<std::string_view> base_view;
        if (base.has_value()) base_view = *base;
        std::optional<std::string> value = LocalValue(*write, base_view);
        if (value.has_value() || base.has_value()) final_values[key] = std::move(value);
        Compare* unchanged = inner.add_compare();
        unchanged->set_target(Compare::MOD);
        unchanged->set_result(Compare::EQUAL);
        unchanged->set_key(layout.DataKey(key));
        unchanged->set_mod_revision(mod_revision);
      }
      if (plan.needs_stamp()) {
        // This commit will be the clock's next version; it only commits if that holds.
        stamp = MakeVersionstamp(observed->clock + 1, 0);
        Compare* clock = inner.add_compare();
        clock->set_target(Compare::VERSION);
        clock->set_result(Compare::EQUAL);
        clock->set_key(layout.ClockKey());
        clock->set_version(observed->clock);
        for (const auto& [key, param] : plan.stamped_values) {
          ASSIGN_OR_RETURN(std::string value, SpliceVersionstamp(param, stamp));
          final_values[key] = std::move(value);
        }
        for (const auto& [param, value] : plan.stamped_keys) {
          ASSIGN_OR_RETURN(std::string key, SpliceVersionstamp(param, stamp));
          final_values[key] = value;
        }
      }
    }
    for (auto& [key, value] : final_values) {
      if (value.has_value()) {
        *inner.add_success() = PutOp(layout.DataKey(key), Layout::Live(*value));
      } else {
        *inner.add_success() = PutOp(layout.DataKey(key), Layout::Tombstone(now_micros));
        *inner.add_success() =
            PutOp(layout.Section('t') + EncodeTime(now_micros) + key, std::string());
      }
    }
    for (const auto& [begin, end] : plan.write_ranges) {
      *inner.add_success() = PutOp(layout.Section('w') + begin, EncodeTime(now_micros) + end);
    }
    *inner.add_success() = PutOp(layout.ClockKey(), std::string());
    *inner.add_success() = PutOp(marker, std::string());
    *inner.add_success() = RangeOp(layout.ClockKey(), "", /*keys_only=*/true);
    for (RequestOp& op : ObserveOps(plan, layout)) *inner.add_failure() = std::move(op);

    TxnRequest request;
    for (const Compare& compare : read_guards) *request.add_compare() = compare;
    *request.add_compare() = marker_absent;
    *request.add_success()->mutable_request_txn() = std::move(inner);
    *request.add_failure() = RangeOp(marker, "", /*keys_only=*/true);
    const TxnRequest& sent_inner = request.success(0).request_txn();
    if (request.compare_size() > kMaxEtcdTxnOps || sent_inner.compare_size() > kMaxEtcdTxnOps ||
        sent_inner.success_size() > kMaxEtcdTxnOps ||
        request.ByteSizeLong() > kMaxEtcdRequestBytes) {
      return MakeError(ErrorCode::kTransactionTooLarge,
                       "the commit does not fit one etcd request (" +
                           std::to_string(sent_inner.success_size()) + " writes, " +
                           std::to_string(request.ByteSizeLong()) + " bytes)");
    }

    TxnResponse response;
    grpc::Status rpc;
    bool sent_before = false;
    for (int attempt = 0;; ++attempt) {
      response.Clear();
      rpc = db_->client().TxnOnce(request, &response, deadline);
      if (rpc.ok()) break;
      if (!EtcdClient::MaybeApplied(rpc)) {
        if (!sent_before) return TimeoutOr(EtcdClient::ToStatus(rpc, "commit"));
        break;
      }
      sent_before = true;
      if (attempt + 1 >= kMaxUnknownResultRetries || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * (1 + attempt / 3)));
    }
    if (!rpc.ok()) {
      return MakeError(ErrorCode::kCommitUnknownResult,
                       "the cluster did not confirm the commit: " + rpc.error_message());
    }

    if (!response.succeeded()) {
      const auto& marker_read = response.responses(0).response_range();
      if (marker_read.kvs_size() == 0) {
        return MakeError(ErrorCode::kNotCommitted,
                         "a key or range read by the transaction was written after its read "
                         "version");
      }
      // An earlier attempt of this very request was applied: find its commit version.
      int64_t revision = marker_read.kvs(0).create_revision();
      RangeRequest clock_at;
      clock_at.set_key(layout.ClockKey());
      clock_at.set_revision(revision);
      clock_at.set_keys_only(true);
      RangeResponse clock_response;
      Status status = db_->ReadAt(clock_at, &clock_response, deadline);
      if (!status.ok() || clock_response.kvs_size() == 0) {
        return MakeError(ErrorCode::kCommitUnknownResult,
                         "the commit was applied but its version could not be read");
      }
      committed_version_ = clock_response.kvs(0).version();
      commit_revision_ = revision;
    } else {
      const TxnResponse& inner_response = response.responses(0).response_txn();
      if (!inner_response.succeeded()) {
        // Inputs changed since they were read: recompute from the values just returned.
        RETURN_IF_ERROR(ParseObserved(plan, layout,
                                      inner_response.header().revision() != 0
                                          ? inner_response.header().revision()
                                          : response.header().revision(),
                                      inner_response.responses(), &*observed));
        continue;
      }
      const RangeResponse& clock = inner_response.responses().rbegin()->response_range();
      if (clock.kvs_size() == 0) {
        return MakeError(ErrorCode::kInternalError, "the commit clock is missing");
      }
      committed_version_ = clock.kvs(0).version();
      commit_revision_ = response.header().revision();
    }
    db_->RecordCommit(committed_version_, commit_revision_);
    // Whichever attempt of this commit was applied, a stamp it wrote is its commit version
    // (the clock guard ensured that), so the stamp follows from the version in every case.
    versionstamp_ = MakeVersionstamp(committed_version_, 0);
    return absl::OkStatus();
  }
}

StatusOr<std::string> EtcdTransaction::GetVersionstamp() const {
  if (!committed_ || versionstamp_.empty()) {
    return MakeError(ErrorCode::kNoCommitVersion,
                     "only a committed transaction with mutations has a versionstamp");
  }
  return versionstamp_;
}

Status EtcdTransaction::OnError(const Status& error) {
  ASSIGN_OR_RETURN(std::chrono::microseconds delay,
                   RetryDelay(error, options_, retries_, created_, kInitialRetryDelay));
  std::this_thread::sleep_for(delay);
  ++retries_;
  Reset();
  return absl::OkStatus();
}

void EtcdTransaction::Reset() {
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction reset"));
  read_.reset();
  requested_read_version_.reset();
  ClearBuffered();
  cancelled_ = false;
  committed_ = false;
  committed_version_ = -1;
  commit_revision_ = 0;
  versionstamp_.clear();
}

void EtcdTransaction::Cancel() {
  cancelled_ = true;
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled));
}

}  // namespace recordstore::kv::etcd
