// Subspace: a key prefix under which keys are tuples, as in FDB's bindings. Record-Store gives
// every record store, index and metadata area its own subspace.
//
// Thread-safety: an immutable value; const methods may be called concurrently.
#ifndef RECORDSTORE_TUPLE_SUBSPACE_H_
#define RECORDSTORE_TUPLE_SUBSPACE_H_

#include <string>
#include <string_view>
#include <utility>

#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore {

class Subspace {
 public:
  // The whole key space (empty prefix).
  Subspace() = default;
  // Keys that start with `raw_prefix`, which need not be a tuple encoding.
  explicit Subspace(std::string raw_prefix) : prefix_(std::move(raw_prefix)) {}
  // Keys that start with `raw_prefix` followed by the encoding of `tuple`.
  explicit Subspace(const Tuple& tuple, std::string_view raw_prefix = {});

  // The prefix every key of this subspace starts with.
  const std::string& key() const { return prefix_; }

  // prefix + tuple.Pack().
  std::string Pack(const Tuple& tuple) const;

  // As Tuple::PackWithVersionstamp with this prefix: the offset counts the prefix bytes.
  // Fails with kInvalidArgument unless `tuple` holds exactly one incomplete versionstamp.
  StatusOr<std::string> PackWithVersionstamp(const Tuple& tuple) const;

  // The tuple that Pack turned into `key`. Fails with kInvalidArgument when `key` does not
  // start with the prefix, and with Tuple::Unpack's kDataCorruption (byte offsets counted
  // from the end of the prefix) when the rest is not a tuple encoding.
  StatusOr<Tuple> Unpack(std::string_view key) const;

  // True when `key` starts with the prefix (the prefix itself included).
  bool Contains(std::string_view key) const { return key.starts_with(prefix_); }

  // The subspace for keys prefix + tuple.Pack() + ...
  Subspace Sub(const Tuple& tuple) const { return Subspace(tuple, prefix_); }

  // [begin, end) covering every key Pack(tuple + more elements) can produce:
  // begin = prefix + tuple.Pack() + 00, end = prefix + tuple.Pack() + ff. The bare prefix and
  // keys continuing with ff lie outside, as in FDB.
  std::pair<std::string, std::string> Range(const Tuple& tuple = {}) const;

  friend bool operator==(const Subspace& a, const Subspace& b) = default;

 private:
  std::string prefix_;
};

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_SUBSPACE_H_
