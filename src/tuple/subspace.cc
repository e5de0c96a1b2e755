#include "tuple/subspace.h"

namespace recordstore {

Subspace::Subspace(const Tuple& tuple, std::string_view raw_prefix) : prefix_(raw_prefix) {
  tuple.PackInto(&prefix_);
}

std::string Subspace::Pack(const Tuple& tuple) const {
  std::string key = prefix_;
  tuple.PackInto(&key);
  return key;
}

StatusOr<std::string> Subspace::PackWithVersionstamp(const Tuple& tuple) const {
  return tuple.PackWithVersionstamp(prefix_);
}

StatusOr<Tuple> Subspace::Unpack(std::string_view key) const {
  if (!Contains(key)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "key " + TupleElement(ByteString{std::string(key)}).ToString() +
                         " is outside the subspace with prefix " +
                         TupleElement(ByteString{prefix_}).ToString());
  }
  return Tuple::Unpack(key.substr(prefix_.size()));
}

std::pair<std::string, std::string> Subspace::Range(const Tuple& tuple) const {
  std::string begin = Pack(tuple);
  std::string end = begin;
  begin.push_back('\x00');
  end.push_back('\xff');
  return {std::move(begin), std::move(end)};
}

}  // namespace recordstore
