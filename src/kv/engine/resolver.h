// The conflict resolver: remembers which key ranges were written at which commit version and
// answers "did anything write into these ranges after version R?".
//
// Representation: a step function over the key space, stored as a map from a boundary key to
// the newest commit version that wrote [boundary, next boundary). Keys before the first
// boundary, and segments at version 0, were not written within the window. Versions at or
// below the horizon (see Forget) are treated as 0, so the map only holds recent history.
//
// Thread-safety: none; the engine's commit leader is its only user.
#ifndef RECORDSTORE_KV_ENGINE_RESOLVER_H_
#define RECORDSTORE_KV_ENGINE_RESOLVER_H_

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
  // True when some range in `reads` intersects a range written at a version > read_version.
  bool Conflicts(const std::vector<KeyRange>& reads, Version read_version) const;

  // Records that [begin, end) was written at `version`. REQUIRES: version is at least every
  // version recorded before.
  void RecordWrite(std::string_view begin, std::string_view end, Version version);

  // No transaction can read below `horizon` any more: drops history at or below it. With a
  // horizon at or above every recorded version the resolver becomes empty.
  void Forget(Version horizon);

  Version newest_version() const { return newest_; }
  size_t boundary_count() const { return segments_.size(); }

 private:
  // Version of the segment containing `key`.
  Version VersionAt(std::string_view key) const;

  std::map<std::string, Version, std::less<>> segments_;
  Version newest_ = 0;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_RESOLVER_H_
