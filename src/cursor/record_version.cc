#include "cursor/record_version.h"

#include <algorithm>

namespace recordstore::cursor {
namespace {

bool IsPlaceholder(std::string_view global_version) {
  return std::all_of(global_version.begin(), global_version.end(),
                     [](char c) { return static_cast<uint8_t>(c) == 0xff; });
}

}  // namespace

StatusOr<RecordVersion> RecordVersion::Complete(std::string_view global_version,
                                                uint16_t local_version) {
  if (global_version.size() != kGlobalSize || IsPlaceholder(global_version)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a complete record version needs a 10-byte versionstamp that is not the "
                     "incomplete placeholder");
  }
  RecordVersion version;
  std::copy(global_version.begin(), global_version.end(), version.bytes_.begin());
  version.bytes_[10] = static_cast<uint8_t>(local_version >> 8);
  version.bytes_[11] = static_cast<uint8_t>(local_version);
  return version;
}

RecordVersion RecordVersion::Incomplete(uint16_t local_version) {
  RecordVersion version;
  std::fill(version.bytes_.begin(), version.bytes_.begin() + kGlobalSize, 0xff);
  version.bytes_[10] = static_cast<uint8_t>(local_version >> 8);
  version.bytes_[11] = static_cast<uint8_t>(local_version);
  return version;
}

StatusOr<RecordVersion> RecordVersion::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return MakeError(ErrorCode::kDataCorruption,
                     "a record version is 12 bytes, not " + std::to_string(bytes.size()));
  }
  RecordVersion version;
  std::copy(bytes.begin(), bytes.end(), version.bytes_.begin());
  return version;
}

RecordVersion RecordVersion::FromVersionstamp(const Versionstamp& versionstamp) {
  RecordVersion version;
  version.bytes_ = versionstamp.bytes();
  return version;
}

bool RecordVersion::is_complete() const { return !IsPlaceholder(global_version()); }

StatusOr<RecordVersion> RecordVersion::WithGlobalVersion(std::string_view versionstamp) const {
  if (is_complete()) {
    return MakeError(ErrorCode::kInvalidArgument, "the record version is already complete");
  }
  return Complete(versionstamp, local_version());
}

}  // namespace recordstore::cursor
