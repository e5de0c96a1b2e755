// Conversion between the wire form of a block (auth/biscuit_wire.proto, strings as
// symbol-table indexes, scope keys as public-key-table indexes) and BlockContent.
//
// Symbol indexes 0..1023 are reserved for the default table (SPECIFICATIONS.md, "Symbol
// table"); a token's own symbols start at 1024. Decoding treats the bytes as untrusted:
// every index is bounds-checked and every expression validated.
//
// Thread-safety: plain values and pure functions.
#ifndef RECORDSTORE_AUTH_CODEC_H_
#define RECORDSTORE_AUTH_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/biscuit_wire.pb.h"
#include "auth/datalog.h"
#include "recordstore/status.h"

namespace recordstore::auth {

class SymbolTable {
 public:
  // The first index of symbols that are not default symbols.
  static constexpr uint64_t kFirstCustomIndex = 1024;

  // A table holding only the default symbols.
  SymbolTable() = default;

  // The string at `index`; FORMAT_DESERIALIZATION when there is none.
  StatusOr<std::string> Lookup(uint64_t index) const;
  // The index of `symbol`, appending it when absent.
  uint64_t Intern(std::string_view symbol);
  void Append(const std::vector<std::string>& symbols);
  // Symbols beyond the defaults, in index order.
  const std::vector<std::string>& custom() const { return custom_; }

 private:
  std::vector<std::string> custom_;
};

// The ordered table of public keys that `trusting` scopes refer to by index.
class PublicKeyTable {
 public:
  StatusOr<PublicKey> Lookup(int64_t index) const;
  int64_t Intern(const PublicKey& key);
  void Append(const std::vector<PublicKey>& keys);
  const std::vector<PublicKey>& keys() const { return keys_; }

 private:
  std::vector<PublicKey> keys_;
};

PublicKey PublicKeyFromWire(const wire::PublicKey& key);
wire::PublicKey PublicKeyToWire(const PublicKey& key);

// Decodes `block` with `symbols` and `keys` (already extended with the block's own symbols
// and keys). FORMAT_DESERIALIZATION on dangling indexes, non-ground facts, malformed terms
// or expressions; FORMAT_VERSION when the Datalog version is outside 3.0..3.3 or lower than
// the features the block uses need.
StatusOr<BlockContent> DecodeBlock(const wire::Block& block, const SymbolTable& symbols,
                                   const PublicKeyTable& keys);

// Encodes `content` at Datalog `version`, interning into `symbols` and `keys`; the block's
// `symbols`/`public_keys` fields list what was appended to them.
wire::Block EncodeBlock(const BlockContent& content, uint32_t version, SymbolTable* symbols,
                        PublicKeyTable* keys);

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_CODEC_H_
