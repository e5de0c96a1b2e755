// Watches: per-key waiters that complete when the key's committed value differs from the value
// the watching transaction saw.
#ifndef RECORDSTORE_KV_ENGINE_WATCH_REGISTRY_H_
#define RECORDSTORE_KV_ENGINE_WATCH_REGISTRY_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kv/key_watch.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

class WatchRegistry;

// One watch of the engine: a KeyWatch that a WatchRegistry re-checks after commits.
class WatchState final : public KeyWatch {
 public:
  using KeyWatch::KeyWatch;

  // Completes with operation_cancelled (1101) and leaves the registry.
  void Cancel() override;
  void set_registry(WatchRegistry* registry) { registry_.store(registry); }

 private:
  std::atomic<WatchRegistry*> registry_{nullptr};
};

// Thread-safe. Every method may be called concurrently with commits.
class WatchRegistry {
 public:
  using ValueReader = std::function<StatusOr<std::optional<std::string>>(std::string_view)>;

  explicit WatchRegistry(int max_watches) : max_watches_(max_watches) {}
  ~WatchRegistry();

  // Reserves room for one more watch; too_many_watches (1032) past the limit. Every
  // successful Reserve is matched by one Activate or Release.
  Status Reserve();
  void Release();

  // Starts `watch` (using a reserved slot): fires it at once if `read_current` shows a value
  // other than the expected one, otherwise keeps it until a change is reported.
  void Activate(const std::shared_ptr<WatchState>& watch, const ValueReader& read_current);

  // After a commit became visible: re-checks watches on `key` / in [begin, end).
  void KeyChanged(std::string_view key, const ValueReader& read_current);
  void RangeCleared(std::string_view begin, std::string_view end, const ValueReader& read_current);

  // Removes a cancelled watch.
  void Remove(WatchState* watch);

  bool empty() const { return active_.load(std::memory_order_acquire) == 0; }

 private:
  void CheckLocked(std::multimap<std::string, std::shared_ptr<WatchState>>::iterator first,
                   std::multimap<std::string, std::shared_ptr<WatchState>>::iterator last,
                   const ValueReader& read_current);

  const int max_watches_;
  std::atomic<int> reserved_{0};
  std::atomic<int> active_{0};
  std::mutex mu_;
  std::multimap<std::string, std::shared_ptr<WatchState>> watches_;  // GUARDED_BY(mu_)
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_WATCH_REGISTRY_H_
