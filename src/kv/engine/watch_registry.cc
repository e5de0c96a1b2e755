#include "kv/engine/watch_registry.h"

#include <vector>

namespace recordstore::kv {

void WatchState::Cancel() {
  if (!Complete(MakeError(ErrorCode::kOperationCancelled, "watch cancelled"))) return;
  if (WatchRegistry* registry = registry_.exchange(nullptr)) registry->Remove(this);
}

WatchRegistry::~WatchRegistry() {
  std::lock_guard lock(mu_);
  for (auto& [key, watch] : watches_) {
    watch->set_registry(nullptr);
    watch->Complete(MakeError(ErrorCode::kOperationCancelled, "database closed"));
  }
}

Status WatchRegistry::Reserve() {
  if (reserved_.fetch_add(1) >= max_watches_) {
    reserved_.fetch_sub(1);
    return MakeError(ErrorCode::kTooManyWatches,
                     "more than " + std::to_string(max_watches_) + " watches");
  }
  return absl::OkStatus();
}

void WatchRegistry::Release() { reserved_.fetch_sub(1); }

void WatchRegistry::Activate(const std::shared_ptr<WatchState>& watch,
                             const ValueReader& read_current) {
  std::lock_guard lock(mu_);
  if (watch->done()) {  // cancelled before it started
    Release();
    return;
  }
  auto it = watches_.emplace(watch->key(), watch);
  watch->set_registry(this);
  active_.fetch_add(1, std::memory_order_release);
  CheckLocked(it, std::next(it), read_current);
}

void WatchRegistry::KeyChanged(std::string_view key, const ValueReader& read_current) {
  std::lock_guard lock(mu_);
  auto [first, last] = watches_.equal_range(std::string(key));
  CheckLocked(first, last, read_current);
}

void WatchRegistry::RangeCleared(std::string_view begin, std::string_view end,
                                 const ValueReader& read_current) {
  std::lock_guard lock(mu_);
  CheckLocked(watches_.lower_bound(std::string(begin)), watches_.lower_bound(std::string(end)),
              read_current);
}

void WatchRegistry::Remove(WatchState* watch) {
  std::lock_guard lock(mu_);
  auto [first, last] = watches_.equal_range(watch->key());
  for (auto it = first; it != last; ++it) {
    if (it->second.get() == watch) {
      watches_.erase(it);
      active_.fetch_sub(1, std::memory_order_release);
      Release();
      return;
    }
  }
}

void WatchRegistry::CheckLocked(
    std::multimap<std::string, std::shared_ptr<WatchState>>::iterator first,
    std::multimap<std::string, std::shared_ptr<WatchState>>::iterator last,
    const ValueReader& read_current) {
  // One read per distinct key.
  std::string current_key;
  std::optional<StatusOr<std::optional<std::string>>> current;
  for (auto it = first; it != last;) {
    if (!current.has_value() || current_key != it->first) {
      current_key = it->first;
      current = read_current(current_key);
    }
    WatchState& watch = *it->second;
    bool fire = !current->ok() || **current != watch.expected() || watch.done();
    if (!fire) {
      ++it;
      continue;
    }
    watch.set_registry(nullptr);
    watch.Complete(current->ok() ? absl::OkStatus() : current->status());
    it = watches_.erase(it);
    active_.fetch_sub(1, std::memory_order_release);
    Release();
  }
}

}  // namespace recordstore::kv
