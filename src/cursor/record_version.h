// RecordVersion: the version of a record, as in the Record Layer. 12 bytes that order
// records by the time they were last saved: the 10-byte global versionstamp of the committing
// transaction (8-byte big-endian commit version + 2-byte order in the commit batch), then a
// 2-byte big-endian local version that orders the records one transaction saved.
//
// A version handed out before commit is incomplete: its global part is the placeholder
// ff*10, so incomplete versions sort after every complete one, among themselves by local
// version. Once the transaction has committed, WithGlobalVersion (or
// RecordContext::CompleteVersion) fills in the versionstamp.
//
// Thread-safety: a plain value.
#ifndef RECORDSTORE_CURSOR_RECORD_VERSION_H_
#define RECORDSTORE_CURSOR_RECORD_VERSION_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::cursor {

class RecordVersion {
 public:
  static constexpr size_t kGlobalSize = 10;
  static constexpr size_t kSize = 12;

  // Fails with kInvalidArgument unless `global_version` is 10 bytes and not the placeholder.
  static StatusOr<RecordVersion> Complete(std::string_view global_version, uint16_t local_version);
  static RecordVersion Incomplete(uint16_t local_version);
  // The version whose ToBytes() is `bytes`; kDataCorruption unless there are 12 of them.
  static StatusOr<RecordVersion> FromBytes(std::string_view bytes);
  // The tuple layer's versionstamp is the same 12 bytes.
  static RecordVersion FromVersionstamp(const Versionstamp& versionstamp);

  bool is_complete() const;
  std::string_view global_version() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), kGlobalSize);
  }
  uint16_t local_version() const { return static_cast<uint16_t>((bytes_[10] << 8) | bytes_[11]); }
  std::string ToBytes() const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()), kSize);
  }
  Versionstamp ToVersionstamp() const { return Versionstamp::FromBytes(bytes_); }

  // This version with the global part set to the 10-byte versionstamp of its transaction.
  // Fails with kInvalidArgument when this version is already complete or `versionstamp` is not
  // a complete 10-byte versionstamp.
  StatusOr<RecordVersion> WithGlobalVersion(std::string_view versionstamp) const;

  // Bytewise order of ToBytes(). clang-tidy 14 takes the 0 that defaulted <=> compares
  // against for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend auto operator<=>(const RecordVersion&, const RecordVersion&) = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_RECORD_VERSION_H_
