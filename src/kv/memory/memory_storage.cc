#include "kv/memory/memory_storage.h"

#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <variant>
#include <vector>

namespace recordstore::kv {
namespace {

struct VersionedValue {
  Version version;
  std::optional<std::string> value;  // nullopt: deleted at `version`
};

// Invariants: each chain is non-empty and sorted by strictly increasing version.
using Chain = std::vector<VersionedValue>;
using VersionedMap = std::map<std::string, Chain, std::less<>>;

// The newest entry of `chain` visible at `version`, or nullptr.
const VersionedValue* VisibleAt(const Chain& chain, Version version) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (it->version <= version) return &*it;
  }
  return nullptr;
}

bool PresentAt(const Chain& chain, Version version) {
  const VersionedValue* entry = VisibleAt(chain, version);
  return entry != nullptr && entry->value.has_value();
}

// State shared by the storage and its snapshots and iterators.
struct Core {
  mutable std::shared_mutex mu;
  VersionedMap data;  // GUARDED_BY(mu)

  std::mutex live_mu;
  std::multiset<Version> live_snapshots;  // GUARDED_BY(live_mu)

  Version OldestLiveVersion(Version fallback) {
    std::lock_guard lock(live_mu);
    return live_snapshots.empty() ? fallback : *live_snapshots.begin();
  }
};

class MemoryIterator final : public StorageIterator {
 public:
  MemoryIterator(const Core* core, Version version, std::string_view lower, std::string_view upper)
      : core_(core), version_(version), lower_(lower), upper_(upper) {}

  void Seek(std::string_view key) override {
    std::shared_lock lock(core_->mu);
    std::string_view from = key < lower_ ? std::string_view(lower_) : key;
    ForwardFrom(core_->data.lower_bound(from));
  }
  void SeekToFirst() override { Seek(lower_); }
  void SeekForPrev(std::string_view key) override {
    std::shared_lock lock(core_->mu);
    if (key >= upper_) {
      BackwardFrom(core_->data.lower_bound(upper_));
    } else {
      BackwardFrom(core_->data.upper_bound(key));
    }
  }
  void SeekToLast() override {
    std::shared_lock lock(core_->mu);
    BackwardFrom(core_->data.lower_bound(upper_));
  }
  bool Valid() const override { return valid_; }
  void Next() override {
    std::shared_lock lock(core_->mu);
    ForwardFrom(core_->data.upper_bound(key_));
  }
  void Prev() override {
    std::shared_lock lock(core_->mu);
    BackwardFrom(core_->data.lower_bound(key_));
  }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return absl::OkStatus(); }

 private:
  // Positions on the first visible key at or after `it` (REQUIRES: shared lock held).
  void ForwardFrom(VersionedMap::const_iterator it) {
    for (; it != core_->data.end() && it->first < upper_; ++it) {
      const VersionedValue* entry = VisibleAt(it->second, version_);
      if (entry != nullptr && entry->value.has_value()) return Land(it->first, *entry->value);
    }
    valid_ = false;
  }
  // Positions on the last visible key strictly before `it` (REQUIRES: shared lock held).
  void BackwardFrom(VersionedMap::const_iterator it) {
    while (it != core_->data.begin()) {
      --it;
      if (it->first < lower_) break;
      const VersionedValue* entry = VisibleAt(it->second, version_);
      if (entry != nullptr && entry->value.has_value()) return Land(it->first, *entry->value);
    }
    valid_ = false;
  }
  void Land(const std::string& key, const std::string& value) {
    key_ = key;
    value_ = value;
    valid_ = true;
  }

  const Core* core_;
  Version version_;
  std::string lower_;
  std::string upper_;
  bool valid_ = false;
  std::string key_;
  std::string value_;
};

class MemorySnapshot final : public StorageSnapshot {
 public:
  MemorySnapshot(std::shared_ptr<Core> core, Version version)
      : core_(std::move(core)), version_(version) {
    std::lock_guard lock(core_->live_mu);
    core_->live_snapshots.insert(version_);
  }
  ~MemorySnapshot() override {
    std::lock_guard lock(core_->live_mu);
    core_->live_snapshots.erase(core_->live_snapshots.find(version_));
  }

  Version version() const override { return version_; }

  StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    std::shared_lock lock(core_->mu);
    auto it = core_->data.find(key);
    if (it == core_->data.end()) return std::optional<std::string>();
    const VersionedValue* entry = VisibleAt(it->second, version_);
    if (entry == nullptr) return std::optional<std::string>();
    return entry->value;
  }

  std::unique_ptr<StorageIterator> NewIterator(std::string_view lower,
                                               std::string_view upper) const override {
    return std::make_unique<MemoryIterator>(core_.get(), version_, lower, upper);
  }

 private:
  std::shared_ptr<Core> core_;
  Version version_;
};

class MemoryBatch final : public StorageBatch {
 public:
  struct Op {
    enum class Kind { kPut, kDelete, kDeleteRange } kind;
    std::string key;
    std::string value_or_end;
  };
  void Put(std::string_view key, std::string_view value) override {
    ops_.push_back({Op::Kind::kPut, std::string(key), std::string(value)});
  }
  void Delete(std::string_view key) override {
    ops_.push_back({Op::Kind::kDelete, std::string(key), {}});
  }
  void DeleteRange(std::string_view begin, std::string_view end) override {
    ops_.push_back({Op::Kind::kDeleteRange, std::string(begin), std::string(end)});
  }
  bool empty() const override { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() : core_(std::make_shared<Core>()) {}

  Version RecoveredVersion() const override { return 0; }

  std::unique_ptr<StorageBatch> NewBatch() override { return std::make_unique<MemoryBatch>(); }

  Status Apply(StorageBatch& batch, Version version, bool /*sync*/) override {
    Version oldest_live = core_->OldestLiveVersion(applied_version_);
    std::unique_lock lock(core_->mu);
    for (const MemoryBatch::Op& op : static_cast<MemoryBatch&>(batch).ops()) {
      switch (op.kind) {
        case MemoryBatch::Op::Kind::kPut:
          Write(op.key, version, op.value_or_end, oldest_live);
          break;
        case MemoryBatch::Op::Kind::kDelete:
          Write(op.key, version, std::nullopt, oldest_live);
          break;
        case MemoryBatch::Op::Kind::kDeleteRange: {
          auto it = core_->data.lower_bound(op.key);
          while (it != core_->data.end() && it->first < op.value_or_end) {
            auto next = std::next(it);
            if (PresentAt(it->second, version)) {
              AppendVersion(it, version, std::nullopt, oldest_live);
            }
            it = next;
          }
          break;
        }
      }
    }
    applied_version_ = version;
    return absl::OkStatus();
  }

  std::shared_ptr<const StorageSnapshot> Snapshot() override {
    return std::make_shared<MemorySnapshot>(core_, applied_version_);
  }

  Status Compact() override { return absl::OkStatus(); }  // versions are pruned on write

 private:
  void Write(const std::string& key, Version version, std::optional<std::string> value,
             Version oldest_live) {
    auto it = core_->data.find(key);
    if (it == core_->data.end()) {
      if (!value.has_value()) return;  // deleting an absent key changes nothing
      core_->data.emplace(key, Chain{{version, std::move(value)}});
      return;
    }
    AppendVersion(it, version, std::move(value), oldest_live);
  }

  // Appends (or, within one batch, replaces) the entry for `version`, then drops entries no
  // live snapshot can see: everything older than the newest entry at or below `oldest_live`.
  // A key whose only remaining entry is an invisible tombstone is erased.
  void AppendVersion(VersionedMap::iterator it, Version version, std::optional<std::string> value,
                     Version oldest_live) {
    Chain& chain = it->second;
    if (chain.back().version == version) {
      chain.back().value = std::move(value);
    } else {
      chain.push_back({version, std::move(value)});
    }
    size_t keep_from = 0;
    for (size_t i = chain.size(); i-- > 0;) {
      if (chain[i].version <= oldest_live) {
        keep_from = i;
        break;
      }
    }
    if (keep_from > 0) chain.erase(chain.begin(), chain.begin() + keep_from);
    if (chain.size() == 1 && !chain[0].value.has_value() && chain[0].version <= oldest_live) {
      core_->data.erase(it);
    }
  }

  std::shared_ptr<Core> core_;
  Version applied_version_ = 0;  // Only touched by the single applier.
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace recordstore::kv
