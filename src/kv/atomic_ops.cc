#include "kv/atomic_ops.h"

#include <algorithm>
#include <cstring>

namespace recordstore::kv {
namespace {

// The existing value resized to `length` bytes: truncated, or zero-extended at the
// most-significant (little-endian: right) end. A missing value is all zeros.
std::string ResizedExisting(const std::optional<std::string_view>& existing, size_t length) {
  std::string out(length, '\0');
  if (existing.has_value()) {
    std::memcpy(out.data(), existing->data(), std::min(length, existing->size()));
  }
  return out;
}

// Compares two equal-length little-endian unsigned integers.
int CompareLittleEndian(std::string_view a, std::string_view b) {
  for (size_t i = a.size(); i-- > 0;) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

std::optional<std::string> ApplyAtomicOp(MutationType type,
                                         const std::optional<std::string_view>& existing,
                                         std::string_view operand) {
  switch (type) {
    case MutationType::kAdd: {
      std::string out = ResizedExisting(existing, operand.size());
      unsigned carry = 0;
      for (size_t i = 0; i < operand.size(); ++i) {
        unsigned sum =
            static_cast<unsigned char>(out[i]) + static_cast<unsigned char>(operand[i]) + carry;
        out[i] = static_cast<char>(sum & 0xff);
        carry = sum >> 8;
      }
      return out;
    }
    case MutationType::kBitAnd: {
      if (!existing.has_value()) return std::string(operand);
      std::string out = ResizedExisting(existing, operand.size());
      for (size_t i = 0; i < operand.size(); ++i) out[i] = static_cast<char>(out[i] & operand[i]);
      return out;
    }
    case MutationType::kBitOr: {
      std::string out = ResizedExisting(existing, operand.size());
      for (size_t i = 0; i < operand.size(); ++i) out[i] = static_cast<char>(out[i] | operand[i]);
      return out;
    }
    case MutationType::kBitXor: {
      std::string out = ResizedExisting(existing, operand.size());
      for (size_t i = 0; i < operand.size(); ++i) out[i] = static_cast<char>(out[i] ^ operand[i]);
      return out;
    }
    case MutationType::kMax:
    case MutationType::kMin: {
      if (!existing.has_value()) return std::string(operand);
      std::string old = ResizedExisting(existing, operand.size());
      int cmp = CompareLittleEndian(old, operand);
      bool keep_old = type == MutationType::kMax ? cmp >= 0 : cmp <= 0;
      return keep_old ? old : std::string(operand);
    }
    case MutationType::kByteMax:
    case MutationType::kByteMin: {
      if (!existing.has_value()) return std::string(operand);
      int cmp = existing->compare(operand);
      bool keep_old = type == MutationType::kByteMax ? cmp >= 0 : cmp <= 0;
      return std::string(keep_old ? *existing : operand);
    }
    case MutationType::kCompareAndClear:
      if (!existing.has_value() || *existing == operand) return std::nullopt;
      return std::string(*existing);
    case MutationType::kAppendIfFits: {
      std::string out(existing.value_or(std::string_view()));
      if (out.size() + operand.size() <= kMaxValueSize) out.append(operand);
      return out;
    }
    case MutationType::kSetVersionstampedKey:
    case MutationType::kSetVersionstampedValue:
      break;
  }
  return std::nullopt;
}

Status ValidateVersionstampParam(std::string_view param) {
  if (param.size() < 4) {
    return MakeError(ErrorCode::kClientInvalidOperation,
                     "versionstamped parameter is shorter than its 4-byte offset");
  }
  const auto* tail = reinterpret_cast<const unsigned char*>(param.data() + param.size() - 4);
  uint32_t offset = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (uint32_t{tail[3]} << 24);
  size_t body = param.size() - 4;
  if (offset > body || body - offset < kVersionstampSize) {
    return MakeError(ErrorCode::kClientInvalidOperation,
                     "versionstamp offset " + std::to_string(offset) +
                         " leaves no room for 10 bytes in a " + std::to_string(body) +
                         "-byte parameter");
  }
  return absl::OkStatus();
}

StatusOr<std::string> SpliceVersionstamp(std::string_view param, std::string_view stamp) {
  Status valid = ValidateVersionstampParam(param);
  if (!valid.ok()) return valid;
  const auto* tail = reinterpret_cast<const unsigned char*>(param.data() + param.size() - 4);
  uint32_t offset = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (uint32_t{tail[3]} << 24);
  std::string out(param.substr(0, param.size() - 4));
  std::memcpy(out.data() + offset, stamp.data(), kVersionstampSize);
  return out;
}

std::string MakeVersionstamp(Version version, uint16_t batch_order) {
  std::string stamp(kVersionstampSize, '\0');
  auto v = static_cast<uint64_t>(version);
  for (int i = 0; i < 8; ++i) stamp[i] = static_cast<char>(v >> (56 - 8 * i));
  stamp[8] = static_cast<char>(batch_order >> 8);
  stamp[9] = static_cast<char>(batch_order & 0xff);
  return stamp;
}

}  // namespace recordstore::kv
