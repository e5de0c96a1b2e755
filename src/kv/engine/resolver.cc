#include "kv/engine/resolver.h"

namespace recordstore::kv {

Version Resolver::VersionAt(std::string_view key) const {
  auto it = segments_.upper_bound(key);
  if (it == segments_.begin()) return 0;
  return std::prev(it)->second;
}

bool Resolver::Conflicts(const std::vector<KeyRange>& reads, Version read_version) const {
  if (segments_.empty() || newest_ <= read_version) return false;
  for (const auto& [begin, end] : reads) {
    if (begin >= end) continue;
    auto it = segments_.upper_bound(begin);
    if (it != segments_.begin() && std::prev(it)->second > read_version) return true;
    for (; it != segments_.end() && it->first < end; ++it) {
      if (it->second > read_version) return true;
    }
  }
  return false;
}

void Resolver::RecordWrite(std::string_view begin, std::string_view end, Version version) {
  if (begin >= end) return;
  Version after_end = VersionAt(end);
  auto first = segments_.lower_bound(begin);
  auto last = segments_.lower_bound(end);
  bool end_is_boundary = last != segments_.end() && last->first == end;
  segments_.erase(first, last);
  segments_.insert_or_assign(std::string(begin), version);
  if (!end_is_boundary) segments_.emplace(std::string(end), after_end);
  if (version > newest_) newest_ = version;
}

void Resolver::Forget(Version horizon) {
  if (newest_ <= horizon) {
    segments_.clear();
    return;
  }
  // Segments at or below the horizon become 0; merge runs of equal versions.
  Version previous = 0;
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second <= horizon) it->second = 0;
    if (it->second == previous) {
      it = segments_.erase(it);
    } else {
      previous = it->second;
      ++it;
    }
  }
}

}  // namespace recordstore::kv
