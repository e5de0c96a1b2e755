#include "kv/engine/write_set.h"

#include "kv/atomic_ops.h"

namespace recordstore::kv {

void WriteSet::Append(Mutation mutation) {
  bytes_ += static_cast<int64_t>(mutation.key.size() + mutation.param.size());
  log_.push_back(std::move(mutation));
}

void WriteSet::EnsureIndexed() const {
  if (indexed_) return;
  indexed_ = true;
  for (const Mutation& m : log_) {
    switch (m.kind) {
      case Mutation::Kind::kSet:
        IndexSet(m.key, m.param);
        break;
      case Mutation::Kind::kClear:
        IndexClear(m.key);
        break;
      case Mutation::Kind::kClearRange:
        IndexClearRange(m.key, m.param);
        break;
      case Mutation::Kind::kAtomic:
        IndexAtomic(m.atomic_type, m.key, m.param);
        break;
    }
  }
}

void WriteSet::Set(std::string_view key, std::string_view value) {
  Append({Mutation::Kind::kSet, MutationType::kAdd, std::string(key), std::string(value)});
  if (indexed_) IndexSet(key, value);
}

void WriteSet::Clear(std::string_view key) {
  Append({Mutation::Kind::kClear, MutationType::kAdd, std::string(key), {}});
  if (indexed_) IndexClear(key);
}

void WriteSet::ClearRange(std::string_view begin, std::string_view end) {
  Append({Mutation::Kind::kClearRange, MutationType::kAdd, std::string(begin), std::string(end)});
  if (indexed_) IndexClearRange(begin, end);
}

void WriteSet::Atomic(MutationType type, std::string_view key, std::string_view operand) {
  has_atomic_ops_ = true;
  Append({Mutation::Kind::kAtomic, type, std::string(key), std::string(operand)});
  if (indexed_) IndexAtomic(type, key, operand);
}

void WriteSet::IndexSet(std::string_view key, std::string_view value) const {
  LocalWrite& entry = writes_[std::string(key)];
  entry.kind = LocalWrite::Kind::kValue;
  entry.value.assign(value);
  entry.ops.clear();
}

void WriteSet::IndexClear(std::string_view key) const {
  LocalWrite& entry = writes_[std::string(key)];
  entry.kind = LocalWrite::Kind::kCleared;
  entry.value.clear();
  entry.ops.clear();
}

void WriteSet::IndexClearRange(std::string_view begin, std::string_view end) const {
  if (begin >= end) return;
  writes_.erase(writes_.lower_bound(begin), writes_.lower_bound(end));
  // Merge with every cleared range that overlaps or touches [begin, end).
  std::string new_begin(begin);
  std::string new_end(end);
  auto it = cleared_.upper_bound(begin);
  if (it != cleared_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) it = prev;
  }
  while (it != cleared_.end() && it->first <= new_end) {
    if (it->first < new_begin) new_begin = it->first;
    if (it->second > new_end) new_end = it->second;
    it = cleared_.erase(it);
  }
  cleared_.emplace(std::move(new_begin), std::move(new_end));
}

void WriteSet::IndexAtomic(MutationType type, std::string_view key,
                           std::string_view operand) const {
  if (type == MutationType::kSetVersionstampedKey) return;  // the key is unknown until commit
  auto it = writes_.find(key);
  if (it == writes_.end()) {
    // Nothing written at the key yet: the base is absent if a cleared range covers it,
    // otherwise only storage knows it.
    LocalWrite fresh{
        IsCleared(key) ? LocalWrite::Kind::kCleared : LocalWrite::Kind::kPendingOps, {}, {}};
    it = writes_.emplace(std::string(key), std::move(fresh)).first;
  }
  LocalWrite& entry = it->second;
  if (type == MutationType::kSetVersionstampedValue) {
    entry.kind = LocalWrite::Kind::kUnreadable;
    entry.value.clear();
    entry.ops.clear();
    return;
  }
  switch (entry.kind) {
    case LocalWrite::Kind::kUnreadable:
      return;
    case LocalWrite::Kind::kPendingOps:
      entry.ops.emplace_back(type, std::string(operand));
      return;
    case LocalWrite::Kind::kValue:
    case LocalWrite::Kind::kCleared: {
      std::optional<std::string_view> base;
      if (entry.kind == LocalWrite::Kind::kValue) base = entry.value;
      std::optional<std::string> result = ApplyAtomicOp(type, base, operand);
      entry.kind = result.has_value() ? LocalWrite::Kind::kValue : LocalWrite::Kind::kCleared;
      entry.value = std::move(result).value_or(std::string());
      return;
    }
  }
}

const LocalWrite* WriteSet::Find(std::string_view key) const {
  EnsureIndexed();
  auto it = writes_.find(key);
  return it == writes_.end() ? nullptr : &it->second;
}

std::map<std::string, std::string, std::less<>>::const_iterator WriteSet::ClearedRangeOf(
    std::string_view key) const {
  auto it = cleared_.upper_bound(key);
  if (it == cleared_.begin()) return cleared_.end();
  --it;
  return key < it->second ? it : cleared_.end();
}

bool WriteSet::IsCleared(std::string_view key) const {
  EnsureIndexed();
  return !cleared_.empty() && ClearedRangeOf(key) != cleared_.end();
}

const std::string& WriteSet::ClearedRangeEnd(std::string_view key) const {
  return ClearedRangeOf(key)->second;
}

const std::string& WriteSet::ClearedRangeBegin(std::string_view key) const {
  return ClearedRangeOf(key)->first;
}

void WriteSet::Reset() {
  indexed_ = false;
  log_.clear();
  writes_.clear();
  cleared_.clear();
  bytes_ = 0;
  has_atomic_ops_ = false;
}

}  // namespace recordstore::kv
