// The FDB tuple byte encoding: Pack, PackWithVersionstamp and Unpack.
#include <algorithm>
#include <bit>
#include <cstring>

#include "common/status_macros.h"
#include "tuple/tuple.h"
#include "tuple/tuple_internal.h"

namespace recordstore {
namespace {

using tuple_internal::DoubleFromOrderedBits;
using tuple_internal::FloatFromOrderedBits;
using tuple_internal::kBytesCode;
using tuple_internal::kDoubleCode;
using tuple_internal::kEscapeByte;
using tuple_internal::kFalseCode;
using tuple_internal::kFloatCode;
using tuple_internal::kIntegerZeroCode;
using tuple_internal::kNegativeBigIntegerCode;
using tuple_internal::kNestedCode;
using tuple_internal::kNullCode;
using tuple_internal::kPositiveBigIntegerCode;
using tuple_internal::kStringCode;
using tuple_internal::kTrueCode;
using tuple_internal::kUuidCode;
using tuple_internal::kVersionstampCode;
using tuple_internal::OrderedDoubleBits;
using tuple_internal::OrderedFloatBits;

// Bytes an element's encoding is likely to take, for reserving output space once.
size_t EstimateEncodedSize(const Tuple& tuple) {
  size_t size = 0;
  for (const TupleElement& element : tuple) {
    if (const auto* text = element.get_if<std::string>()) {
      size += text->size() + 2;
    } else if (const auto* bytes = element.get_if<ByteString>()) {
      size += bytes->data.size() + 2;
    } else if (const auto* nested = element.get_if<Tuple>()) {
      size += EstimateEncodedSize(*nested) + 2;
    } else {
      size += 1 + Versionstamp::kSize;
    }
  }
  return size;
}

// Appends encodings to one output string and remembers where incomplete versionstamps went.
class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(*out) {}

  // `nested` selects the in-tuple form of null (00 ff instead of 00).
  void EncodeElements(const Tuple& tuple, bool nested) {
    for (const TupleElement& element : tuple) {
      EncodeElement(element, nested);
    }
  }

  int incomplete_versionstamp_count() const { return incomplete_versionstamp_count_; }
  // Offset in the output of the last incomplete versionstamp's transaction version.
  size_t incomplete_versionstamp_offset() const { return incomplete_versionstamp_offset_; }

 private:
  void EncodeElement(const TupleElement& element, bool nested) {
    const TupleElement::Value& value = element.value();
    switch (element.type()) {
      case TupleElement::Type::kNull:
        out_.push_back(static_cast<char>(kNullCode));
        if (nested) {
          out_.push_back(static_cast<char>(kEscapeByte));
        }
        return;
      case TupleElement::Type::kBytes:
        return EncodeEscaped(kBytesCode, std::get<ByteString>(value).data);
      case TupleElement::Type::kString:
        return EncodeEscaped(kStringCode, std::get<std::string>(value));
      case TupleElement::Type::kTuple:
        out_.push_back(static_cast<char>(kNestedCode));
        EncodeElements(std::get<Tuple>(value), /*nested=*/true);
        out_.push_back(static_cast<char>(kNullCode));
        return;
      case TupleElement::Type::kInteger:
        if (const auto* small = std::get_if<int64_t>(&value)) {
          return EncodeInt64(*small);
        }
        return EncodeBigInteger(std::get<BigInteger>(value));
      case TupleElement::Type::kFloat:
        out_.push_back(static_cast<char>(kFloatCode));
        return AppendBigEndian(OrderedFloatBits(std::get<float>(value)), 4);
      case TupleElement::Type::kDouble:
        out_.push_back(static_cast<char>(kDoubleCode));
        return AppendBigEndian(OrderedDoubleBits(std::get<double>(value)), 8);
      case TupleElement::Type::kBool:
        out_.push_back(static_cast<char>(std::get<bool>(value) ? kTrueCode : kFalseCode));
        return;
      case TupleElement::Type::kUuid: {
        const Uuid& uuid = std::get<Uuid>(value);
        out_.push_back(static_cast<char>(kUuidCode));
        out_.append(reinterpret_cast<const char*>(uuid.bytes.data()), uuid.bytes.size());
        return;
      }
      case TupleElement::Type::kVersionstamp: {
        const Versionstamp& stamp = std::get<Versionstamp>(value);
        out_.push_back(static_cast<char>(kVersionstampCode));
        if (!stamp.is_complete()) {
          ++incomplete_versionstamp_count_;
          incomplete_versionstamp_offset_ = out_.size();
        }
        out_.append(reinterpret_cast<const char*>(stamp.bytes().data()), stamp.bytes().size());
        return;
      }
    }
  }

  // Appends the low `width` bytes of `value`, most significant first.
  void AppendBigEndian(uint64_t value, int width) {
    char buffer[8];
    for (int i = 0; i < width; ++i) {
      buffer[i] = static_cast<char>(value >> (8 * (width - 1 - i)));
    }
    out_.append(buffer, width);
  }

  // Code, data with each 00 written as 00 ff, then the 00 terminator.
  void EncodeEscaped(uint8_t code, std::string_view data) {
    out_.push_back(static_cast<char>(code));
    const char* rest = data.data();
    size_t remaining = data.size();
    while (const void* zero = std::memchr(rest, 0, remaining)) {
      size_t through_zero = static_cast<const char*>(zero) - rest + 1;
      out_.append(rest, through_zero);
      out_.push_back(static_cast<char>(kEscapeByte));
      rest += through_zero;
      remaining -= through_zero;
    }
    out_.append(rest, remaining);
    out_.push_back(static_cast<char>(kNullCode));
  }

  // Code 0x14 + n then the n-byte magnitude for positive values; code 0x14 - n then the
  // one's complement of the n-byte magnitude for negative ones.
  void EncodeInt64(int64_t value) {
    if (value == 0) {
      out_.push_back(static_cast<char>(kIntegerZeroCode));
      return;
    }
    uint64_t magnitude =
        value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    int width = (64 - std::countl_zero(magnitude) + 7) / 8;
    out_.push_back(
        static_cast<char>(value < 0 ? kIntegerZeroCode - width : kIntegerZeroCode + width));
    AppendBigEndian(value < 0 ? ~magnitude : magnitude, width);
  }

  // Up to 8 bytes as EncodeInt64; longer magnitudes as 0x1d, length, magnitude or as
  // 0x0b, ~length, ~magnitude.
  void EncodeBigInteger(const BigInteger& value) {
    std::string_view magnitude = value.magnitude();
    size_t width = magnitude.size();
    bool negative = value.negative();
    if (width <= 8) {
      out_.push_back(
          static_cast<char>(negative ? kIntegerZeroCode - width : kIntegerZeroCode + width));
    } else {
      out_.push_back(
          static_cast<char>(negative ? kNegativeBigIntegerCode : kPositiveBigIntegerCode));
      out_.push_back(static_cast<char>(negative ? width ^ 0xff : width));
    }
    if (!negative) {
      out_.append(magnitude);
      return;
    }
    for (char byte : magnitude) {
      out_.push_back(static_cast<char>(~byte));
    }
  }

  std::string& out_;
  int incomplete_versionstamp_count_ = 0;
  size_t incomplete_versionstamp_offset_ = 0;
};

// Returns the index of the first byte of `text` that does not start a well-formed UTF-8
// sequence (overlong forms, surrogates and code points above U+10FFFF are ill-formed), or
// npos when all of it is well-formed.
size_t FindInvalidUtf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    if (size - i >= 8) {  // ASCII fast path: eight bytes without a high bit at once
      uint64_t word;
      std::memcpy(&word, bytes + i, sizeof(word));
      if ((word & 0x8080808080808080u) == 0) {
        i += 8;
        continue;
      }
    }
    uint8_t lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    uint32_t minimum;
    if ((lead & 0xe0) == 0xc0) {
      length = 2, code_point = lead & 0x1f, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, code_point = lead & 0x0f, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, code_point = lead & 0x07, minimum = 0x10000;
    } else {
      return i;
    }
    if (size - i < length) {
      return i;
    }
    for (size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) {
        return i;
      }
      code_point = (code_point << 6) | (bytes[i + k] & 0x3f);
    }
    if (code_point < minimum || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string HexByte(uint8_t byte) {
  constexpr char kHexDigits[] = "0123456789abcdef";
  return std::string("0x") + kHexDigits[byte >> 4] + kHexDigits[byte & 0xf];
}

// Reads one encoded tuple. Every read is preceded by a bounds check against size_.
class Decoder {
 public:
  explicit Decoder(std::string_view input)
      : data_(reinterpret_cast<const uint8_t*>(input.data())), size_(input.size()) {}

  Status DecodeTopLevel(std::vector<TupleElement>* out) {
    return DecodeElements(out, /*depth=*/0, /*start=*/0);
  }

 private:
  // Reserving once avoids regrowing the vector. Index entry keys (key columns, then a primary
  // key that often starts with the record type key) commonly have 5 or more elements: 4
  // regrew once per entry, ~4% of a covering index scan. Every element takes at least one
  // byte, so short encodings reserve less.
  static constexpr size_t kExpectedElements = 8;

  static Status Corrupt(const std::string& detail) {
    return MakeError(ErrorCode::kDataCorruption, "tuple decode: " + detail);
  }

  // Fails unless `count` more bytes follow pos_. Inline: it runs for every fixed-size
  // element; the message is built out of line.
  Status Need(size_t count, const char* what, size_t element_start) const {
    if (size_ - pos_ >= count) [[likely]] {
      return Status();
    }
    return Truncated(count, what, element_start);
  }

  [[gnu::noinline]] Status Truncated(size_t count, const char* what, size_t element_start) const {
    return Corrupt("truncated " + std::string(what) + " at byte " + std::to_string(element_start) +
                   ": needs " + std::to_string(count) + " more bytes, " +
                   std::to_string(size_ - pos_) + " remain");
  }

  uint64_t ReadBigEndian(size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) {
      value = (value << 8) | data_[pos_ + i];
    }
    pos_ += width;
    return value;
  }

  // Decodes elements up to the end of input (depth 0) or up to the terminator of the nested
  // tuple whose type code is at `start` (depth > 0).
  Status DecodeElements(std::vector<TupleElement>* out, int depth, size_t start) {
    if (depth == 0 && pos_ < size_) {
      out->reserve(std::min(kExpectedElements, size_ - pos_));
    }
    while (pos_ < size_) {
      size_t element_start = pos_;
      uint8_t code = data_[pos_++];
      if (code == kNullCode && depth > 0) {
        if (pos_ == size_ || data_[pos_] != kEscapeByte) {
          return Status();  // terminator
        }
        ++pos_;
        out->emplace_back();
        continue;
      }
      // Non-negative integers of up to 7 bytes (always within int64_t), the commonest key
      // column, skip the general dispatch; DecodeSmallInteger handles the rest and reports a
      // truncated one.
      if (code >= kIntegerZeroCode && code < kIntegerZeroCode + 8 &&
          size_ - pos_ >= static_cast<size_t>(code - kIntegerZeroCode)) {
        out->emplace_back(static_cast<int64_t>(ReadBigEndian(code - kIntegerZeroCode)));
        continue;
      }
      RETURN_IF_ERROR(DecodeElement(code, element_start, depth, out));
    }
    if (depth == 0) {
      return Status();
    }
    return Corrupt("unterminated nested tuple starting at byte " + std::to_string(start));
  }

  // Decodes the element whose type code `code` was at `element_start`; pos_ is just past it.
  Status DecodeElement(uint8_t code, size_t element_start, int depth,
                       std::vector<TupleElement>* out) {
    switch (code) {
      case kNullCode:
        out->emplace_back();
        return Status();
      case kBytesCode: {
        ByteString bytes;
        RETURN_IF_ERROR(DecodeEscaped("byte string", element_start, &bytes.data));
        out->emplace_back(std::move(bytes));
        return Status();
      }
      case kStringCode: {
        std::string text;
        RETURN_IF_ERROR(DecodeEscaped("string", element_start, &text));
        size_t invalid = FindInvalidUtf8(text);
        if (invalid != std::string_view::npos) {
          return Corrupt("invalid UTF-8 in string starting at byte " +
                         std::to_string(element_start) + " (string byte " +
                         std::to_string(invalid) + ")");
        }
        out->emplace_back(std::move(text));
        return Status();
      }
      case kNestedCode: {
        if (depth + 1 > Tuple::kMaxNestingDepth) {
          return Corrupt("nested tuple at byte " + std::to_string(element_start) +
                         " exceeds the maximum nesting depth of " +
                         std::to_string(Tuple::kMaxNestingDepth));
        }
        std::vector<TupleElement> nested;
        RETURN_IF_ERROR(DecodeElements(&nested, depth + 1, element_start));
        out->emplace_back(Tuple(std::move(nested)));
        return Status();
      }
      case kNegativeBigIntegerCode:
      case kPositiveBigIntegerCode:
        return DecodeBigInteger(code == kNegativeBigIntegerCode, element_start, out);
      case kFloatCode:
        RETURN_IF_ERROR(Need(4, "float", element_start));
        out->emplace_back(FloatFromOrderedBits(static_cast<uint32_t>(ReadBigEndian(4))));
        return Status();
      case kDoubleCode:
        RETURN_IF_ERROR(Need(8, "double", element_start));
        out->emplace_back(DoubleFromOrderedBits(ReadBigEndian(8)));
        return Status();
      case kFalseCode:
      case kTrueCode:
        out->emplace_back(code == kTrueCode);
        return Status();
      case kUuidCode: {
        RETURN_IF_ERROR(Need(16, "UUID", element_start));
        Uuid uuid;
        std::memcpy(uuid.bytes.data(), data_ + pos_, uuid.bytes.size());
        pos_ += uuid.bytes.size();
        out->emplace_back(uuid);
        return Status();
      }
      case kVersionstampCode: {
        RETURN_IF_ERROR(Need(Versionstamp::kSize, "versionstamp", element_start));
        std::array<uint8_t, Versionstamp::kSize> bytes;
        std::memcpy(bytes.data(), data_ + pos_, bytes.size());
        pos_ += bytes.size();
        out->emplace_back(Versionstamp::FromBytes(bytes));
        return Status();
      }
      default:
        if (code > kNegativeBigIntegerCode && code < kPositiveBigIntegerCode) {
          return DecodeSmallInteger(code, element_start, out);
        }
        return Corrupt("unknown type code " + HexByte(code) + " at byte " +
                       std::to_string(element_start));
    }
  }

  // Codes 0x0c..0x1c: |code - 0x14| magnitude bytes, one's-complemented when negative.
  Status DecodeSmallInteger(uint8_t code, size_t element_start, std::vector<TupleElement>* out) {
    bool negative = code < kIntegerZeroCode;
    size_t width = negative ? kIntegerZeroCode - code : code - kIntegerZeroCode;
    RETURN_IF_ERROR(Need(width, "integer", element_start));
    uint64_t raw = ReadBigEndian(width);
    if (!negative) {
      out->emplace_back(raw);
      return Status();
    }
    uint64_t all_ones = width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
    uint64_t magnitude = all_ones ^ raw;
    if (magnitude <= static_cast<uint64_t>(INT64_MAX) + 1) {
      out->emplace_back(static_cast<int64_t>(0 - magnitude));
      return Status();
    }
    char magnitude_bytes[8];
    for (int i = 0; i < 8; ++i) {
      magnitude_bytes[i] = static_cast<char>(magnitude >> (56 - 8 * i));
    }
    ASSIGN_OR_RETURN(BigInteger big,
                     BigInteger::FromMagnitude(true, std::string_view(magnitude_bytes, 8)));
    out->emplace_back(std::move(big));
    return Status();
  }

  // Codes 0x1d (length, magnitude) and 0x0b (~length, ~magnitude).
  Status DecodeBigInteger(bool negative, size_t element_start, std::vector<TupleElement>* out) {
    RETURN_IF_ERROR(Need(1, "integer length", element_start));
    size_t width = negative ? data_[pos_] ^ 0xff : data_[pos_];
    ++pos_;
    RETURN_IF_ERROR(Need(width, "integer", element_start));
    std::string magnitude(reinterpret_cast<const char*>(data_ + pos_), width);
    pos_ += width;
    if (negative) {
      for (char& byte : magnitude) {
        byte = static_cast<char>(~byte);
      }
    }
    ASSIGN_OR_RETURN(BigInteger big, BigInteger::FromMagnitude(negative, magnitude));
    out->emplace_back(std::move(big));
    return Status();
  }

  // Reads escaped data up to its 00 terminator into `*out`; pos_ is the first data byte.
  Status DecodeEscaped(const char* what, size_t element_start, std::string* out) {
    const uint8_t* rest = data_ + pos_;
    const uint8_t* end = data_ + size_;
    while (true) {
      const auto* zero = static_cast<const uint8_t*>(std::memchr(rest, 0, end - rest));
      if (zero == nullptr) {
        return Corrupt("unterminated " + std::string(what) + " starting at byte " +
                       std::to_string(element_start));
      }
      out->append(reinterpret_cast<const char*>(rest), zero + 1 - rest);
      if (zero + 1 < end && zero[1] == kEscapeByte) {
        rest = zero + 2;
        continue;
      }
      out->pop_back();  // the terminator
      pos_ = zero + 1 - data_;
      return Status();
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

void Tuple::PackInto(std::string* out) const {
  out->reserve(out->size() + EstimateEncodedSize(*this));
  Encoder(out).EncodeElements(*this, /*nested=*/false);
}

std::string Tuple::Pack() const {
  std::string out;
  PackInto(&out);
  return out;
}

StatusOr<std::string> Tuple::PackWithVersionstamp(std::string_view prefix) const {
  std::string out(prefix);
  out.reserve(prefix.size() + EstimateEncodedSize(*this) + 4);
  Encoder encoder(&out);
  encoder.EncodeElements(*this, /*nested=*/false);
  if (encoder.incomplete_versionstamp_count() != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a versionstamped key needs exactly one incomplete versionstamp, found " +
                         std::to_string(encoder.incomplete_versionstamp_count()) + " in " +
                         ToString());
  }
  size_t offset = encoder.incomplete_versionstamp_offset();
  if (offset > UINT32_MAX) {
    return MakeError(ErrorCode::kInvalidArgument, "incomplete versionstamp offset " +
                                                      std::to_string(offset) +
                                                      " does not fit the 4-byte operand");
  }
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>(offset >> (8 * i)));
  }
  return out;
}

StatusOr<Tuple> Tuple::Unpack(std::string_view encoded) {
  std::vector<TupleElement> elements;
  RETURN_IF_ERROR(Decoder(encoded).DecodeTopLevel(&elements));
  return Tuple(std::move(elements));
}

}  // namespace recordstore
