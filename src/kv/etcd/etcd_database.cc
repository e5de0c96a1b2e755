#include "kv/etcd/etcd_database.h"

#include <algorithm>

#include "common/status_macros.h"
#include "kv/etcd/etcd_transaction.h"

namespace recordstore::kv {

StatusOr<std::unique_ptr<Database>> OpenEtcdDatabase(std::string_view url,
                                                     const DatabaseOptions& options) {
  constexpr std::string_view kScheme = "etcd://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return MakeError(ErrorCode::kConnectionStringInvalid, "not an etcd:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view hosts = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  std::vector<std::string> endpoints;
  for (bool more = !hosts.empty(); more;) {
    size_t comma = hosts.find(',');
    more = comma != std::string_view::npos;
    std::string_view endpoint = hosts.substr(0, comma);
    size_t colon = endpoint.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size() ||
        endpoint.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
      return MakeError(ErrorCode::kConnectionStringInvalid,
                       "etcd endpoints are host:port, comma separated: '" + std::string(url) + "'");
    }
    endpoints.emplace_back(endpoint);
    if (more) hosts = hosts.substr(comma + 1);
  }
  if (endpoints.empty()) {
    return MakeError(ErrorCode::kConnectionStringInvalid,
                     "etcd URLs name at least one endpoint: etcd://127.0.0.1:2379/prefix");
  }
  auto db = std::make_unique<etcd::EtcdDatabase>(endpoints, prefix, options);
  RETURN_IF_ERROR(db->Connect());
  return std::unique_ptr<Database>(std::move(db));
}

namespace etcd {
namespace {

// Commit versions remembered for SetReadVersion (older ones are found by searching).
constexpr size_t kMaxRememberedCommits = 4096;
constexpr std::chrono::seconds kCollectionInterval{2};
// Entries the collector handles per pass and per section.
constexpr int kCollectionBatch = 1000;

}  // namespace

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EncodeTime(int64_t micros) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>((static_cast<uint64_t>(micros) >> (8 * (7 - i))) & 0xff);
  }
  return bytes;
}

int64_t DecodeTime(std::string_view bytes) {
  uint64_t micros = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    micros = (micros << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return static_cast<int64_t>(micros);
}

std::string Layout::Live(std::string_view value) {
  std::string stored;
  stored.reserve(value.size() + 1);
  stored.push_back('\x01');
  stored.append(value);
  return stored;
}

std::string Layout::Tombstone(int64_t micros) {
  std::string stored(1, '\0');
  stored.append(EncodeTime(micros));
  return stored;
}

std::optional<std::string_view> Layout::Decode(std::string_view stored) {
  if (stored.empty() || stored[0] != '\x01') return std::nullopt;
  return stored.substr(1);
}

// --- EtcdWatch ---

void EtcdWatch::Cancel() { Complete(MakeError(ErrorCode::kOperationCancelled, "watch cancelled")); }

void EtcdWatch::OnCompletedLocked() {
  if (context_ != nullptr) context_->TryCancel();
}

bool EtcdWatch::SetContext(grpc::ClientContext* context) {
  return WithLock([&](bool done) {
    if (done && context != nullptr) return false;
    context_ = context;
    return true;
  });
}

// --- EtcdDatabase ---

EtcdDatabase::EtcdDatabase(const std::vector<std::string>& endpoints, std::string_view prefix,
                           const DatabaseOptions& options)
    : client_(endpoints), layout_(prefix), options_(options) {}

EtcdDatabase::~EtcdDatabase() {
  {
    std::lock_guard lock(gc_mu_);
    stopping_ = true;
  }
  gc_cv_.notify_all();
  if (gc_thread_.joinable()) gc_thread_.join();
  std::vector<RunningWatch> running;
  {
    std::lock_guard lock(watches_mu_);
    for (const RunningWatch& r : running_) {
      r.watch->Complete(MakeError(ErrorCode::kOperationCancelled, "database closed"));
    }
    running.swap(running_);
  }
  for (RunningWatch& r : running) r.thread.join();
}

Status EtcdDatabase::Connect() {
  etcdserverpb::RangeRequest request;
  request.set_key(layout_.ClockKey());
  request.set_keys_only(true);
  etcdserverpb::RangeResponse response;
  Status status = client_.Range(request, &response, Clock::now() + std::chrono::seconds(10));
  if (HasErrorCode(status, ErrorCode::kIoError)) return status;
  if (!status.ok()) {
    std::string why(status.message());
    return MakeError(ErrorCode::kIoError, why);
  }
  gc_thread_ = std::thread([this] { CollectGarbageLoop(); });
  return absl::OkStatus();
}

std::unique_ptr<Transaction> EtcdDatabase::CreateTransaction(const TransactionOptions& options) {
  return std::make_unique<EtcdTransaction>(this, options);
}

Status EtcdDatabase::ReadAt(etcdserverpb::RangeRequest& request,
                            etcdserverpb::RangeResponse* response, Clock::time_point deadline) {
  // A member that has applied the revision answers locally; one that lags behind (after a
  // failover) says "future revision", and a linearizable read waits for it to catch up.
  request.set_serializable(true);
  Status status = client_.Range(request, response, deadline);
  if (HasErrorCode(status, ErrorCode::kFutureVersion)) {
    request.set_serializable(false);
    response->Clear();
    status = client_.Range(request, response, deadline);
  }
  return status;
}

StatusOr<Version> EtcdDatabase::ClockVersionAt(int64_t revision) {
  etcdserverpb::RangeRequest request;
  request.set_key(layout_.ClockKey());
  request.set_keys_only(true);
  request.set_revision(revision);
  etcdserverpb::RangeResponse response;
  RETURN_IF_ERROR(ReadAt(request, &response, Clock::time_point::max()));
  return response.kvs_size() == 0 ? 0 : response.kvs(0).version();
}

StatusOr<ReadPoint> EtcdDatabase::AcquireReadVersion(std::optional<Version> at,
                                                     Clock::time_point deadline) {
  etcdserverpb::RangeRequest request;
  request.set_key(layout_.ClockKey());
  request.set_keys_only(true);
  etcdserverpb::RangeResponse response;
  RETURN_IF_ERROR(client_.Range(request, &response, deadline));
  ReadPoint point = NoteLatest(response, response.header().revision());
  if (!at.has_value() || *at == point.version) return point;
  if (*at > point.version) {
    return MakeError(ErrorCode::kFutureVersion, "version " + std::to_string(*at) +
                                                    " is newer than the latest commit " +
                                                    std::to_string(point.version));
  }
  // The revision of the commit that made the clock's version `at`: remembered, or found by
  // binary search over revisions (the clock's version only grows with the revision).
  int64_t low = 1;
  int64_t high = point.revision;
  {
    std::lock_guard lock(versions_mu_);
    auto it = commit_revisions_.find(*at);
    if (it != commit_revisions_.end()) {
      point.version = *at;
      point.revision = it->second;
      return point;
    }
    it = commit_revisions_.lower_bound(*at);
    if (it != commit_revisions_.end()) high = it->second;
    if (it != commit_revisions_.begin()) low = std::prev(it)->second;
  }
  while (low < high) {
    int64_t mid = low + (high - low) / 2;
    ASSIGN_OR_RETURN(Version version, ClockVersionAt(mid));
    if (version < *at) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  point.version = *at;
  point.revision = low;
  return point;
}

StatusOr<ReadPoint> EtcdDatabase::AcquireReadVersionWith(
    const etcdserverpb::RangeRequest& first_read, etcdserverpb::RangeResponse* first_response,
    Clock::time_point deadline) {
  etcdserverpb::TxnRequest request;
  etcdserverpb::RangeRequest* clock = request.add_success()->mutable_request_range();
  clock->set_key(layout_.ClockKey());
  clock->set_keys_only(true);
  *request.add_success()->mutable_request_range() = first_read;
  etcdserverpb::TxnResponse response;
  RETURN_IF_ERROR(client_.ReadTxn(request, &response, deadline));
  if (response.responses_size() != 2) {
    return MakeError(ErrorCode::kInternalError, "etcd returned an unexpected number of results");
  }
  *first_response = std::move(*response.mutable_responses(1)->mutable_response_range());
  return NoteLatest(response.responses(0).response_range(), response.header().revision());
}

ReadPoint EtcdDatabase::NoteLatest(const etcdserverpb::RangeResponse& clock, int64_t revision) {
  ReadPoint point;
  point.taken = Clock::now();
  point.revision = revision;
  point.version = clock.kvs_size() == 0 ? 0 : clock.kvs(0).version();
  std::lock_guard lock(versions_mu_);
  int64_t now = WallMicros();
  if (revision_samples_.empty() || now - revision_samples_.back().first > 1'000'000) {
    revision_samples_.emplace_back(now, point.revision);
  }
  if (clock.kvs_size() > 0) commit_revisions_[point.version] = clock.kvs(0).mod_revision();
  return point;
}

void EtcdDatabase::RecordCommit(Version version, int64_t revision) {
  std::lock_guard lock(versions_mu_);
  commit_revisions_[version] = revision;
  while (commit_revisions_.size() > kMaxRememberedCommits) {
    commit_revisions_.erase(commit_revisions_.begin());
  }
}

Status EtcdDatabase::ReserveWatch() {
  std::lock_guard lock(watches_mu_);
  if (reserved_watches_ >= options_.max_watches) {
    return MakeError(ErrorCode::kTooManyWatches,
                     "more than " + std::to_string(options_.max_watches) + " watches");
  }
  ++reserved_watches_;
  return absl::OkStatus();
}

void EtcdDatabase::ReleaseWatch() {
  std::lock_guard lock(watches_mu_);
  --reserved_watches_;
}

void EtcdDatabase::ActivateWatch(const std::shared_ptr<EtcdWatch>& watch) {
  std::lock_guard lock(watches_mu_);
  // Threads of watches that are over have exited (or are about to): reap them.
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->finished->load()) {
      it->thread.join();
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  running_.push_back({watch, finished, std::thread([this, watch, finished] {
                        RunWatch(watch);
                        std::lock_guard lock(watches_mu_);
                        --reserved_watches_;
                        finished->store(true);
                      })});
}

void EtcdDatabase::RunWatch(const std::shared_ptr<EtcdWatch>& watch) {
  const std::string key = layout_.DataKey(watch->key());
  std::chrono::milliseconds backoff{20};
  while (!watch->done()) {
    // Compare with the latest value first, then follow the changes after it.
    etcdserverpb::RangeRequest read;
    read.set_key(key);
    etcdserverpb::RangeResponse current;
    Status status = client_.Range(read, &current);
    if (!status.ok()) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    std::optional<std::string_view> value;
    if (current.kvs_size() > 0) value = Layout::Decode(current.kvs(0).value());
    if (value != watch->expected()) {
      watch->Complete(absl::OkStatus());
      return;
    }
    grpc::ClientContext context;
    if (!watch->SetContext(&context)) return;
    auto stream = client_.WatchStub().Watch(&context);
    etcdserverpb::WatchRequest create;
    create.mutable_create_request()->set_key(key);
    create.mutable_create_request()->set_start_revision(current.header().revision() + 1);
    etcdserverpb::WatchResponse response;
    if (stream->Write(create)) {
      while (stream->Read(&response)) {
        if (response.canceled()) break;  // compacted past the start: compare again
        for (const auto& event : response.events()) {
          std::optional<std::string_view> now;
          if (event.type() == etcdserverpb::Event::PUT) now = Layout::Decode(event.kv().value());
          if (now != watch->expected()) {
            watch->Complete(absl::OkStatus());
            break;
          }
        }
        if (watch->done()) break;
      }
    }
    watch->SetContext(nullptr);
    context.TryCancel();
    stream->Finish();
  }
}

void EtcdDatabase::CollectGarbageLoop() {
  std::unique_lock lock(gc_mu_);
  while (!gc_cv_.wait_for(lock, kCollectionInterval, [&] { return stopping_; })) {
    lock.unlock();
    CollectGarbage();
    lock.lock();
  }
}

void EtcdDatabase::CollectGarbage() {
  const int64_t now = WallMicros();
  auto micros = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  };

  // Idempotency markers: time-ordered, removed with one request.
  etcdserverpb::DeleteRangeRequest markers;
  markers.set_key(layout_.Section('i'));
  markers.set_range_end(layout_.Section('i') + EncodeTime(now - micros(kMarkerAge)));
  if (!client_.DeleteRange(markers).ok()) return;

  // Old tombstones, through their time-ordered index. A tombstone is only removed while it is
  // still the one the index saw (its time is old), guarded by its mod revision.
  const int64_t tombstone_cutoff = now - micros(kTombstoneAge);
  etcdserverpb::RangeRequest index;
  index.set_key(layout_.Section('t'));
  index.set_range_end(layout_.Section('t') + EncodeTime(tombstone_cutoff));
  index.set_limit(kCollectionBatch);
  index.set_keys_only(true);
  etcdserverpb::RangeResponse entries;
  if (!client_.Range(index, &entries).ok()) return;
  for (const auto& entry : entries.kvs()) {
    std::string_view index_key = entry.key();
    std::string data_key = layout_.DataKey(index_key.substr(layout_.Section('t').size() + 8));
    etcdserverpb::RangeRequest read;
    read.set_key(data_key);
    etcdserverpb::RangeResponse stored;
    if (!client_.Range(read, &stored).ok()) return;
    etcdserverpb::TxnRequest remove;
    etcdserverpb::RequestOp* drop_index = remove.add_success();
    drop_index->mutable_request_delete_range()->set_key(entry.key());
    std::string_view stored_value;
    if (stored.kvs_size() > 0) stored_value = stored.kvs(0).value();
    if (!stored_value.empty() && !Layout::Decode(stored_value).has_value() &&
        DecodeTime(stored_value.substr(1)) <= tombstone_cutoff) {
      etcdserverpb::Compare* same = remove.add_compare();
      same->set_target(etcdserverpb::Compare::MOD);
      same->set_result(etcdserverpb::Compare::EQUAL);
      same->set_key(data_key);
      same->set_mod_revision(stored.kvs(0).mod_revision());
      remove.add_success()->mutable_request_delete_range()->set_key(data_key);
      // When the tombstone changed meanwhile, its index entry is still removed.
      *remove.add_failure() = *drop_index;
    }
    etcdserverpb::TxnResponse removed;
    if (!client_.TxnOnce(remove, &removed, Clock::now() + kAttemptTimeout).ok()) return;
  }

  // Old explicit write-conflict markers (rare: scanned whole).
  etcdserverpb::RangeRequest conflict_markers;
  conflict_markers.set_key(layout_.Section('w'));
  conflict_markers.set_range_end(layout_.Section('x'));
  conflict_markers.set_limit(kCollectionBatch);
  etcdserverpb::RangeResponse conflicts;
  if (!client_.Range(conflict_markers, &conflicts).ok()) return;
  for (const auto& marker : conflicts.kvs()) {
    if (DecodeTime(marker.value()) > tombstone_cutoff) continue;
    etcdserverpb::TxnRequest remove;
    etcdserverpb::Compare* same = remove.add_compare();
    same->set_target(etcdserverpb::Compare::MOD);
    same->set_result(etcdserverpb::Compare::EQUAL);
    same->set_key(marker.key());
    same->set_mod_revision(marker.mod_revision());
    remove.add_success()->mutable_request_delete_range()->set_key(marker.key());
    etcdserverpb::TxnResponse removed;
    if (!client_.TxnOnce(remove, &removed, Clock::now() + kAttemptTimeout).ok()) return;
  }

  // History behind the newest revision seen at least kCompactionAge ago.
  int64_t target = 0;
  {
    std::lock_guard lock(versions_mu_);
    while (!revision_samples_.empty() &&
           now - revision_samples_.front().first >= micros(kCompactionAge)) {
      target = revision_samples_.front().second;
      revision_samples_.pop_front();
    }
  }
  if (target > compacted_revision_ && client_.Compact(target).ok()) compacted_revision_ = target;
}

}  // namespace etcd
}  // namespace recordstore::kv
