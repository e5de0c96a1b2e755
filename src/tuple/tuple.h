// The FoundationDB tuple layer: typed values packed into byte strings whose bytewise order is
// the order of the values, byte-for-byte compatible with FDB's bindings (design/tuple.md in
// the FoundationDB repository). Record-Store builds every key from tuples.
//
// Supported types, in the order tuples sort (lowest first):
//   null (0x00) < byte string (0x01) < UTF-8 string (0x02) < nested tuple (0x05)
//   < integer (0x0b..0x1d, any size, compared numerically) < float (0x20) < double (0x21)
//   < false (0x26) < true (0x27) < UUID (0x30) < 96-bit versionstamp (0x33).
// Floats and doubles sort by their encoding: -NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN,
// and two floats are equal only when their bit patterns are (NaN payloads are kept).
//
// Thread-safety: Tuple, TupleElement and the value types are plain values; concurrent const
// access is safe, mutation needs external synchronization.
#ifndef RECORDSTORE_TUPLE_TUPLE_H_
#define RECORDSTORE_TUPLE_TUPLE_H_

#include <array>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "recordstore/status.h"
#include "tuple/big_integer.h"

namespace recordstore {

// A byte-string element (type code 0x01). The wrapper keeps it apart from a UTF-8 string
// element (0x02), which is a plain std::string.
struct ByteString {
  std::string data;
  friend auto operator<=>(const ByteString&, const ByteString&) = default;
};

// A UUID element (0x30): the 16 bytes in RFC 4122 network order.
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  // clang-tidy 14 takes the 0 that defaulted <=> compares against for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// FDB's 96-bit versionstamp (0x33): a 10-byte transaction version, assigned by the database
// at commit (8-byte big-endian commit version + 2-byte batch order), then a 2-byte big-endian
// user version that orders stamps within one transaction. An incomplete versionstamp has the
// placeholder transaction version ff*10; Tuple::PackWithVersionstamp locates it so that a
// SET_VERSIONSTAMPED_KEY mutation can fill it in.
class Versionstamp {
 public:
  static constexpr size_t kTransactionVersionSize = 10;
  static constexpr size_t kSize = 12;

  // Fails with kInvalidArgument unless `transaction_version` is 10 bytes and not the
  // incomplete placeholder.
  static StatusOr<Versionstamp> Complete(std::string_view transaction_version,
                                         uint16_t user_version);
  static Versionstamp Incomplete(uint16_t user_version = 0);
  // The versionstamp whose 12-byte encoding (as it follows the 0x33 type code) is `bytes`.
  static Versionstamp FromBytes(const std::array<uint8_t, kSize>& bytes);

  bool is_complete() const;
  std::string_view transaction_version() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), kTransactionVersionSize);
  }
  uint16_t user_version() const { return static_cast<uint16_t>((bytes_[10] << 8) | bytes_[11]); }
  // All 12 bytes: transaction version then big-endian user version.
  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }

  // NOLINTNEXTLINE(modernize-use-nullptr): see Uuid.
  friend auto operator<=>(const Versionstamp&, const Versionstamp&) = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

class TupleElement;

// An ordered list of TupleElements. Build one fluently:
//   Tuple().Append("users").Append(42).AppendBytes(raw)   or   Tuple::Of("users", 42, 1.5).
// (No initializer-list constructor: for Tuple{other_tuple} GCC and Clang disagree on whether
// it copies or nests.)
class Tuple {
 public:
  // Unpack rejects nested tuples deeper than this (counting the outermost tuple as depth 0),
  // so that untrusted input cannot exhaust the stack. Pack has no such limit.
  static constexpr int kMaxNestingDepth = 256;

  Tuple() = default;
  explicit Tuple(std::vector<TupleElement> elements);

  // One element per argument, each converted by TupleElement's constructors; a Tuple
  // argument becomes a nested tuple: Tuple::Of("a", Tuple::Of(1)) is ("a", (1)).
  template <typename... Elements>
  static Tuple Of(Elements&&... elements);

  // Append(tuple) adds one element, the nested tuple; Extend(tuple) adds the tuple's own
  // elements: (1).Extend(("a", 2)) is (1, "a", 2), as keys that end in a primary key need.
  Tuple& Append(TupleElement element);
  Tuple& AppendNull();
  Tuple& AppendBytes(std::string_view bytes);
  Tuple& Extend(const Tuple& other);

  // Defined after TupleElement, which must be complete for them.
  size_t size() const;
  bool empty() const;
  // REQUIRES: index < size().
  const TupleElement& operator[](size_t index) const;
  const std::vector<TupleElement>& elements() const { return elements_; }
  std::vector<TupleElement>::const_iterator begin() const;
  std::vector<TupleElement>::const_iterator end() const;

  // The FDB encoding. An incomplete versionstamp is written as its placeholder bytes; use
  // PackWithVersionstamp to write a key the database will complete. String elements are
  // copied as given: one holding invalid UTF-8 packs into bytes that Unpack rejects.
  std::string Pack() const;
  // Appends the encoding to `*out` (which may already hold a prefix).
  void PackInto(std::string* out) const;

  // `prefix` + the encoding + the 4-byte little-endian offset, within prefix + encoding, of
  // the 10-byte transaction version of the tuple's one incomplete versionstamp: the operand
  // of SET_VERSIONSTAMPED_KEY. Fails with kInvalidArgument unless exactly one incomplete
  // versionstamp occurs (nested tuples included).
  StatusOr<std::string> PackWithVersionstamp(std::string_view prefix = {}) const;

  // Decodes a whole FDB encoding. Never reads outside `encoded`; on malformed input (unknown
  // type code, truncated value, unterminated string or nested tuple, invalid UTF-8 in a
  // string, nesting deeper than kMaxNestingDepth) fails with kDataCorruption and a message
  // naming the problem and its byte offset. Integers encoded in a longer form than needed
  // are accepted, so Pack(Unpack(x)) may be shorter than x but never differs otherwise.
  static StatusOr<Tuple> Unpack(std::string_view encoded);

  // True when an incomplete versionstamp occurs anywhere in the tuple, nested ones included.
  bool HasIncompleteVersionstamp() const;

  // Human-readable form for logs and test failures, e.g. (null, b"\x00", "a", 1, (2.5, true)).
  std::string ToString() const;

  // FDB tuple order (see the file comment); equals the bytewise order of the encodings.
  friend std::strong_ordering operator<=>(const Tuple& a, const Tuple& b);
  friend bool operator==(const Tuple& a, const Tuple& b);

 private:
  std::vector<TupleElement> elements_;
};

// One value in a Tuple. The constructors are implicit on purpose, like std::variant's, so
// that Tuple::Of("a", 1, nullptr) and Append(x) read naturally.
class TupleElement {
 public:
  // The element types in FDB sort order.
  enum class Type : uint8_t {
    kNull,
    kBytes,
    kString,
    kTuple,
    kInteger,
    kFloat,
    kDouble,
    kBool,
    kUuid,
    kVersionstamp,
  };

  // Integers live in int64_t when they fit and in BigInteger only when they do not, so each
  // value has one representation.
  using Value = std::variant<std::monostate, ByteString, std::string, Tuple, int64_t, BigInteger,
                             float, double, bool, Uuid, Versionstamp>;

  TupleElement() = default;  // null
  // NOLINTBEGIN(google-explicit-constructor): implicit on purpose, see the class comment.
  TupleElement(std::nullptr_t) {}
  TupleElement(ByteString bytes) : value_(std::move(bytes)) {}
  TupleElement(std::string text) : value_(std::move(text)) {}
  TupleElement(std::string_view text) : value_(std::string(text)) {}
  TupleElement(const char* text) : value_(std::string(text)) {}
  TupleElement(Tuple nested) : value_(std::move(nested)) {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) TupleElement(T integer) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (integer > static_cast<uint64_t>(INT64_MAX)) {
        value_ = BigInteger::FromUint64(integer);
        return;
      }
    }
    value_ = static_cast<int64_t>(integer);
  }
  TupleElement(BigInteger integer);
  TupleElement(float value) : value_(value) {}
  TupleElement(double value) : value_(value) {}
  TupleElement(bool value) : value_(value) {}
  TupleElement(Uuid uuid) : value_(uuid) {}
  TupleElement(Versionstamp versionstamp) : value_(versionstamp) {}
  // NOLINTEND(google-explicit-constructor)

  Type type() const;
  const Value& value() const { return value_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }

  // The alternative T of value(), or nullptr when another is held. Integers: int64_t or
  // BigInteger (see Value); AsInt64 covers both.
  template <typename T>
  const T* get_if() const {
    return std::get_if<T>(&value_);
  }
  // The integer value when this is an integer that fits int64_t.
  std::optional<int64_t> AsInt64() const;

  std::string ToString() const;

  friend std::strong_ordering operator<=>(const TupleElement& a, const TupleElement& b);
  friend bool operator==(const TupleElement& a, const TupleElement& b) {
    return std::is_eq(a <=> b);
  }

 private:
  Value value_;
};

template <typename... Elements>
Tuple Tuple::Of(Elements&&... elements) {
  Tuple tuple;
  tuple.elements_.reserve(sizeof...(elements));
  (tuple.elements_.emplace_back(std::forward<Elements>(elements)), ...);
  return tuple;
}

inline Tuple::Tuple(std::vector<TupleElement> elements) : elements_(std::move(elements)) {}

inline size_t Tuple::size() const { return elements_.size(); }
inline bool Tuple::empty() const { return elements_.empty(); }
inline const TupleElement& Tuple::operator[](size_t index) const { return elements_[index]; }
inline std::vector<TupleElement>::const_iterator Tuple::begin() const { return elements_.begin(); }
inline std::vector<TupleElement>::const_iterator Tuple::end() const { return elements_.end(); }

inline Tuple& Tuple::Append(TupleElement element) {
  elements_.push_back(std::move(element));
  return *this;
}

inline Tuple& Tuple::Extend(const Tuple& other) {
  elements_.insert(elements_.end(), other.elements_.begin(), other.elements_.end());
  return *this;
}

inline Tuple& Tuple::AppendNull() { return Append(TupleElement()); }

inline Tuple& Tuple::AppendBytes(std::string_view bytes) {
  return Append(ByteString{std::string(bytes)});
}

inline bool operator==(const Tuple& a, const Tuple& b) { return std::is_eq(a <=> b); }

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_TUPLE_H_
