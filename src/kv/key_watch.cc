#include "kv/key_watch.h"

namespace recordstore::kv {

Status KeyWatch::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return result_.has_value(); });
  return *result_;
}

std::optional<Status> KeyWatch::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return result_.has_value(); })) return std::nullopt;
  return *result_;
}

bool KeyWatch::Complete(const Status& status) {
  {
    std::lock_guard lock(mu_);
    if (result_.has_value()) return false;
    result_ = status;
    OnCompletedLocked();
  }
  cv_.notify_all();
  return true;
}

bool KeyWatch::done() const {
  std::lock_guard lock(mu_);
  return result_.has_value();
}

}  // namespace recordstore::kv
