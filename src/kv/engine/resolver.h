// The conflict resolver: remembers which key ranges were written at which commit version and
// answers "did anything write into these ranges after version R?".
//
// Representation: a step function over the key space, stored as a map from a boundary key to
// the newest commit version that wrote [boundary, next boundary). Keys before the first
// boundary, and segments at version 0, were not written within the history kept.
//
// History is kept only as far back as some transaction may still need it: Forget(h) drops
// everything at or below h, incrementally (each write is visited once more when forgotten).
// A transaction whose read version is below the forgotten horizon cannot be checked exactly,
// so any read it made counts as a conflict: conservative, never a missed conflict.
//
// Thread-safety: none; the engine's commit leader is its only user.
#ifndef RECORDSTORE_KV_ENGINE_RESOLVER_H_
#define RECORDSTORE_KV_ENGINE_RESOLVER_H_

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recordstore/kv.h"

namespace recordstore::kv {

using KeyRange = std::pair<std::string, std::string>;  // [first, second)

class Resolver {
 public:
  // True when some non-empty range in `reads` intersects a range written at a version >
  // read_version, or when read_version is below the forgotten horizon.
  bool Conflicts(const std::vector<KeyRange>& reads, Version read_version) const;

  // Records that [begin, end) was written at `version`. REQUIRES: version is at least every
  // version recorded before and above the forgotten horizon.
  void RecordWrite(std::string_view begin, std::string_view end, Version version);

  // No transaction will be checked at a read version below `horizon` any more (except to be
  // refused): drops history at or below it.
  void Forget(Version horizon);

  Version horizon() const { return horizon_; }
  size_t boundary_count() const { return segments_.size(); }

 private:
  using SegmentMap = std::map<std::string, Version, std::less<>>;
  // Version of the segment containing `key`.
  Version VersionAt(std::string_view key) const;
  // Sets the segment at `it` to version 0 and merges it with equal neighbours.
  void ZeroSegment(SegmentMap::iterator it);

  SegmentMap segments_;
  // The boundaries each recorded version created or changed, oldest version first.
  std::deque<std::pair<Version, std::vector<std::string>>> boundaries_by_version_;
  Version newest_ = 0;
  Version horizon_ = 0;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_RESOLVER_H_
