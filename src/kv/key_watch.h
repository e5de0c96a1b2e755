// KeyWatch: the part of a Watch (kv.h) every backend shares — the watched key, the value the
// watching transaction saw, and a result that is set exactly once and awaited by Wait/WaitFor.
// Backends derive from it to start and stop their own change detection.
//
// Thread-safety: all methods may be called concurrently.
#ifndef RECORDSTORE_KV_KEY_WATCH_H_
#define RECORDSTORE_KV_KEY_WATCH_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "recordstore/kv.h"

namespace recordstore::kv {

class KeyWatch : public Watch {
 public:
  KeyWatch(std::string key, std::optional<std::string> expected)
      : key_(std::move(key)), expected_(std::move(expected)) {}

  Status Wait() override;
  std::optional<Status> WaitFor(std::chrono::milliseconds timeout) override;

  // Sets the result unless one is set; returns true if this call set it.
  bool Complete(const Status& status);
  bool done() const;

  const std::string& key() const { return key_; }
  const std::optional<std::string>& expected() const { return expected_; }

 protected:
  // Called once, under the watch's lock, by the Complete call that sets the result (e.g. to
  // interrupt a read in progress). Must not call back into the watch.
  virtual void OnCompletedLocked() {}
  // Runs `fn(done)` under the watch's lock, for subclass state that must change atomically
  // with completion.
  template <typename Fn>
  auto WithLock(Fn fn) const {
    std::lock_guard lock(mu_);
    return fn(result_.has_value());
  }

 private:
  const std::string key_;
  const std::optional<std::string> expected_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Status> result_;  // GUARDED_BY(mu_)
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_KEY_WATCH_H_
