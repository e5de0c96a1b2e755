// Continuations: where a cursor stopped, as opaque bytes a client can hand back (in a new
// transaction) to get exactly the items that follow, no duplicates and nothing skipped.
//
// In memory a Continuation is a small tree: the start, the end, or a position written by one
// cursor kind (a key, a number, a check value and the positions of its inputs). ToBytes writes
// it as a versioned, checksummed protobuf envelope (continuation.proto); FromBytes accepts only
// bytes that ToBytes could have written, so tampered, truncated or foreign bytes fail with
// invalid_continuation (8005) instead of resuming somewhere else. Each cursor then refuses a
// position of another kind, or of the same kind over another range, with the same error.
//
// Thread-safety: a plain value.
#ifndef RECORDSTORE_CURSOR_CONTINUATION_H_
#define RECORDSTORE_CURSOR_CONTINUATION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recordstore/status.h"

namespace recordstore::cursor {

// The version written into every envelope; FromBytes refuses any other.
inline constexpr uint32_t kContinuationFormatVersion = 1;

// Which cursor wrote a position. Numbers are continuation.proto's CursorKind values.
enum class CursorKind : uint8_t {
  kKeyValue = 1,
  kLimit = 2,
  kSkip = 3,
  kUnion = 4,
  kIntersection = 5,
  kConcat = 6,
  kFlatMap = 7,
};

// The name used in error messages ("key_value", "union", ...).
std::string_view CursorKindName(CursorKind kind);

class Continuation {
 public:
  // The start: before the first item. Its bytes are the empty string.
  Continuation() = default;
  static Continuation Start() { return Continuation(); }
  // The end: the cursor is exhausted; every cursor resumed from it returns no item.
  static Continuation End();
  // A position written by a cursor of `kind`; continuation.proto says what each field means
  // for each kind.
  static Continuation At(CursorKind kind, std::string key, uint64_t number, uint64_t check,
                         std::vector<Continuation> children) {
    return Continuation(Position::kAt, kind, std::move(key), number, check, std::move(children));
  }

  bool is_start() const { return position_ == Position::kStart; }
  bool is_end() const { return position_ == Position::kEnd; }
  // REQUIRES: !is_start() && !is_end() for the accessors below.
  CursorKind kind() const { return kind_; }
  const std::string& key() const { return key_; }
  uint64_t number() const { return number_; }
  uint64_t check() const { return check_; }
  const std::vector<Continuation>& children() const { return children_; }

  // The envelope bytes; the empty string for the start.
  std::string ToBytes() const;
  // Parses ToBytes output. The empty string is the start. Fails with invalid_continuation
  // (8005) for anything else that ToBytes would not have written: unparseable or truncated
  // bytes, another format version, a checksum mismatch, unknown fields or kinds, or a
  // start/end that carries position fields.
  static StatusOr<Continuation> FromBytes(std::string_view bytes);

  // Ok when this is the start, the end, or a position of `kind` with `children` inputs;
  // invalid_continuation naming `kind` otherwise. Cursors call it before resuming.
  Status ExpectKind(CursorKind kind, size_t children) const;

  friend bool operator==(const Continuation&, const Continuation&) = default;

 private:
  enum class Position : uint8_t { kStart, kEnd, kAt };

  Continuation(Position position, CursorKind kind, std::string key, uint64_t number, uint64_t check,
               std::vector<Continuation> children)
      : position_(position),
        kind_(kind),
        key_(std::move(key)),
        number_(number),
        check_(check),
        children_(std::move(children)) {}

  Position position_ = Position::kStart;
  CursorKind kind_ = CursorKind::kKeyValue;
  std::string key_;
  uint64_t number_ = 0;
  uint64_t check_ = 0;
  std::vector<Continuation> children_;
};

// FNV-1a 64 of `bytes`: the envelope checksum, also used by cursors to fingerprint ranges.
uint64_t Fingerprint64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_CONTINUATION_H_
