// The tuple value model: element types, FDB ordering, and the human-readable form. The byte
// encoding lives in tuple_encoding.cc.
#include "tuple/tuple.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <type_traits>

#include "tuple/tuple_internal.h"

namespace recordstore {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendHexByte(uint8_t byte, std::string* out) {
  out->push_back(kHexDigits[byte >> 4]);
  out->push_back(kHexDigits[byte & 0xf]);
}

// Printable ASCII as is (quote and backslash escaped), every other byte as \xNN.
void AppendQuoted(std::string_view bytes, std::string* out) {
  out->push_back('"');
  for (char c : bytes) {
    uint8_t byte = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte >= 0x20 && byte < 0x7f) {
      out->push_back(c);
    } else {
      out->append("\\x");
      AppendHexByte(byte, out);
    }
  }
  out->push_back('"');
}

template <typename Float>
void AppendFloat(Float value, std::string* out) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendElement(const TupleElement& element, std::string* out);

void AppendTuple(const Tuple& tuple, std::string* out) {
  out->push_back('(');
  for (size_t i = 0; i < tuple.size(); ++i) {
    if (i > 0) {
      out->append(", ");
    }
    AppendElement(tuple[i], out);
  }
  out->push_back(')');
}

void AppendElement(const TupleElement& element, std::string* out) {
  const TupleElement::Value& value = element.value();
  if (std::holds_alternative<std::monostate>(value)) {
    out->append("null");
  } else if (const auto* bytes = std::get_if<ByteString>(&value)) {
    out->push_back('b');
    AppendQuoted(bytes->data, out);
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    AppendQuoted(*text, out);
  } else if (const auto* nested = std::get_if<Tuple>(&value)) {
    AppendTuple(*nested, out);
  } else if (const auto* integer = std::get_if<int64_t>(&value)) {
    out->append(std::to_string(*integer));
  } else if (const auto* big = std::get_if<BigInteger>(&value)) {
    out->append(big->ToDecimal());
  } else if (const auto* f = std::get_if<float>(&value)) {
    AppendFloat(*f, out);
    out->push_back('f');
  } else if (const auto* d = std::get_if<double>(&value)) {
    AppendFloat(*d, out);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out->append(*b ? "true" : "false");
  } else if (const auto* uuid = std::get_if<Uuid>(&value)) {
    for (size_t i = 0; i < uuid->bytes.size(); ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) {
        out->push_back('-');
      }
      AppendHexByte(uuid->bytes[i], out);
    }
  } else if (const auto* stamp = std::get_if<Versionstamp>(&value)) {
    out->append("Versionstamp(");
    if (stamp->is_complete()) {
      for (char c : stamp->transaction_version()) {
        AppendHexByte(static_cast<uint8_t>(c), out);
      }
    } else {
      out->append("incomplete");
    }
    out->append(", " + std::to_string(stamp->user_version()) + ")");
  }
}

std::strong_ordering CompareBytes(std::string_view a, std::string_view b) {
  // std::string_view::compare orders bytes as unsigned char, like memcmp.
  return a.compare(b) <=> 0;
}

std::strong_ordering CompareIntegers(const TupleElement::Value& a, const TupleElement::Value& b) {
  const auto* small_a = std::get_if<int64_t>(&a);
  const auto* small_b = std::get_if<int64_t>(&b);
  if (small_a != nullptr && small_b != nullptr) {
    return *small_a <=> *small_b;
  }
  BigInteger big_a = small_a != nullptr ? BigInteger::FromInt64(*small_a) : std::get<BigInteger>(a);
  BigInteger big_b = small_b != nullptr ? BigInteger::FromInt64(*small_b) : std::get<BigInteger>(b);
  return big_a <=> big_b;
}

}  // namespace

StatusOr<Versionstamp> Versionstamp::Complete(std::string_view transaction_version,
                                              uint16_t user_version) {
  if (transaction_version.size() != kTransactionVersionSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a versionstamp's transaction version is 10 bytes, not " +
                         std::to_string(transaction_version.size()));
  }
  if (transaction_version.find_first_not_of('\xff') == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "transaction version ff*10 is the incomplete-versionstamp placeholder");
  }
  Versionstamp stamp;
  std::memcpy(stamp.bytes_.data(), transaction_version.data(), kTransactionVersionSize);
  stamp.bytes_[10] = static_cast<uint8_t>(user_version >> 8);
  stamp.bytes_[11] = static_cast<uint8_t>(user_version);
  return stamp;
}

Versionstamp Versionstamp::Incomplete(uint16_t user_version) {
  Versionstamp stamp;
  std::fill_n(stamp.bytes_.begin(), kTransactionVersionSize, 0xff);
  stamp.bytes_[10] = static_cast<uint8_t>(user_version >> 8);
  stamp.bytes_[11] = static_cast<uint8_t>(user_version);
  return stamp;
}

Versionstamp Versionstamp::FromBytes(const std::array<uint8_t, kSize>& bytes) {
  Versionstamp stamp;
  stamp.bytes_ = bytes;
  return stamp;
}

bool Versionstamp::is_complete() const {
  return !std::all_of(bytes_.begin(), bytes_.begin() + kTransactionVersionSize,
                      [](uint8_t byte) { return byte == 0xff; });
}

TupleElement::TupleElement(BigInteger integer) {
  if (std::optional<int64_t> small = integer.ToInt64()) {
    value_ = *small;
  } else {
    value_ = std::move(integer);
  }
}

// type() maps variant indexes to types; these keep it in step with the Value declaration.
static_assert(std::is_same_v<std::variant_alternative_t<0, TupleElement::Value>, std::monostate>);
static_assert(std::is_same_v<std::variant_alternative_t<1, TupleElement::Value>, ByteString>);
static_assert(std::is_same_v<std::variant_alternative_t<2, TupleElement::Value>, std::string>);
static_assert(std::is_same_v<std::variant_alternative_t<3, TupleElement::Value>, Tuple>);
static_assert(std::is_same_v<std::variant_alternative_t<4, TupleElement::Value>, int64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<5, TupleElement::Value>, BigInteger>);
static_assert(std::is_same_v<std::variant_alternative_t<6, TupleElement::Value>, float>);
static_assert(std::is_same_v<std::variant_alternative_t<7, TupleElement::Value>, double>);
static_assert(std::is_same_v<std::variant_alternative_t<8, TupleElement::Value>, bool>);
static_assert(std::is_same_v<std::variant_alternative_t<9, TupleElement::Value>, Uuid>);
static_assert(std::is_same_v<std::variant_alternative_t<10, TupleElement::Value>, Versionstamp>);

TupleElement::Type TupleElement::type() const {
  switch (value_.index()) {
    case 0:
      return Type::kNull;
    case 1:
      return Type::kBytes;
    case 2:
      return Type::kString;
    case 3:
      return Type::kTuple;
    case 4:
    case 5:
      return Type::kInteger;
    case 6:
      return Type::kFloat;
    case 7:
      return Type::kDouble;
    case 8:
      return Type::kBool;
    case 9:
      return Type::kUuid;
    default:
      return Type::kVersionstamp;
  }
}

std::optional<int64_t> TupleElement::AsInt64() const {
  if (const auto* small = std::get_if<int64_t>(&value_)) {
    return *small;
  }
  // A BigInteger element never fits int64_t (see Value).
  return std::nullopt;
}

std::string TupleElement::ToString() const {
  std::string out;
  AppendElement(*this, &out);
  return out;
}

std::strong_ordering operator<=>(const TupleElement& a, const TupleElement& b) {
  TupleElement::Type type = a.type();
  if (type != b.type()) {
    return type <=> b.type();
  }
  const TupleElement::Value& va = a.value_;
  const TupleElement::Value& vb = b.value_;
  switch (type) {
    case TupleElement::Type::kNull:
      return std::strong_ordering::equal;
    case TupleElement::Type::kBytes:
      return CompareBytes(std::get<ByteString>(va).data, std::get<ByteString>(vb).data);
    case TupleElement::Type::kString:
      return CompareBytes(std::get<std::string>(va), std::get<std::string>(vb));
    case TupleElement::Type::kTuple:
      return std::get<Tuple>(va) <=> std::get<Tuple>(vb);
    case TupleElement::Type::kInteger:
      return CompareIntegers(va, vb);
    case TupleElement::Type::kFloat:
      return tuple_internal::OrderedFloatBits(std::get<float>(va)) <=>
             tuple_internal::OrderedFloatBits(std::get<float>(vb));
    case TupleElement::Type::kDouble:
      return tuple_internal::OrderedDoubleBits(std::get<double>(va)) <=>
             tuple_internal::OrderedDoubleBits(std::get<double>(vb));
    case TupleElement::Type::kBool:
      return std::get<bool>(va) <=> std::get<bool>(vb);
    case TupleElement::Type::kUuid:
      return std::get<Uuid>(va) <=> std::get<Uuid>(vb);
    case TupleElement::Type::kVersionstamp:
      return std::get<Versionstamp>(va) <=> std::get<Versionstamp>(vb);
  }
  return std::strong_ordering::equal;
}

std::strong_ordering operator<=>(const Tuple& a, const Tuple& b) {
  size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    std::strong_ordering order = a[i] <=> b[i];
    if (std::is_neq(order)) {
      return order;
    }
  }
  return a.size() <=> b.size();
}

bool Tuple::HasIncompleteVersionstamp() const {
  return std::any_of(elements_.begin(), elements_.end(), [](const TupleElement& element) {
    if (const auto* stamp = element.get_if<Versionstamp>()) {
      return !stamp->is_complete();
    }
    if (const auto* nested = element.get_if<Tuple>()) {
      return nested->HasIncompleteVersionstamp();
    }
    return false;
  });
}

std::string Tuple::ToString() const {
  std::string out;
  AppendTuple(*this, &out);
  return out;
}

}  // namespace recordstore
