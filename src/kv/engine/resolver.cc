#include "kv/engine/resolver.h"

namespace recordstore::kv {

Version Resolver::VersionAt(std::string_view key) const {
  auto it = segments_.upper_bound(key);
  if (it == segments_.begin()) return 0;
  return std::prev(it)->second;
}

bool Resolver::Conflicts(const std::vector<KeyRange>& reads, Version read_version) const {
  bool below_horizon = read_version < horizon_;
  if (!below_horizon && (segments_.empty() || newest_ <= read_version)) return false;
  for (const auto& [begin, end] : reads) {
    if (begin >= end) continue;
    if (below_horizon) return true;
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

  if (boundaries_by_version_.empty() || boundaries_by_version_.back().first != version) {
    boundaries_by_version_.emplace_back(version, std::vector<std::string>());
  }
  std::vector<std::string>& touched = boundaries_by_version_.back().second;
  touched.emplace_back(begin);
  if (!end_is_boundary) touched.emplace_back(end);
}

void Resolver::ZeroSegment(SegmentMap::iterator it) {
  it->second = 0;
  auto next = std::next(it);
  if (next != segments_.end() && next->second == 0) segments_.erase(next);
  Version previous = it == segments_.begin() ? 0 : std::prev(it)->second;
  if (previous == 0) segments_.erase(it);
}

void Resolver::Forget(Version horizon) {
  if (horizon <= horizon_) return;
  horizon_ = horizon;
  if (newest_ <= horizon) {
    segments_.clear();
    boundaries_by_version_.clear();
    return;
  }
  while (!boundaries_by_version_.empty() && boundaries_by_version_.front().first <= horizon) {
    for (const std::string& key : boundaries_by_version_.front().second) {
      auto it = segments_.find(key);
      if (it != segments_.end() && it->second <= horizon) ZeroSegment(it);
    }
    boundaries_by_version_.pop_front();
  }
}

}  // namespace recordstore::kv
