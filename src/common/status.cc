#include "recordstore/status.h"

#include <charconv>
#include <string>

#include "absl/strings/cord.h"

namespace recordstore {
namespace {

// Type URL of the payload that carries the table number.
constexpr std::string_view kErrorPayloadUrl = "type.recordstore.dev/error_code";

struct ErrorInfo {
  std::string_view name;
  absl::StatusCode absl_code;
  bool retryable;
  bool maybe_committed;
};

const ErrorInfo* FindInfo(ErrorCode code) {
  switch (code) {
#define RECORDSTORE_ERROR_CASE(sym, num, name, absl_code, retryable, maybe)                \
  case ErrorCode::sym: {                                                                   \
    static constexpr ErrorInfo kInfo{name, absl::StatusCode::absl_code, retryable, maybe}; \
    return &kInfo;                                                                         \
  }
    RECORDSTORE_ERROR_TABLE(RECORDSTORE_ERROR_CASE)
#undef RECORDSTORE_ERROR_CASE
  }
  return nullptr;
}

}  // namespace

Status MakeError(ErrorCode code, std::string_view detail) {
  const ErrorInfo* info = FindInfo(code);
  absl::StatusCode absl_code = info ? info->absl_code : absl::StatusCode::kUnknown;
  std::string message(ErrorName(code));
  message += " (" + std::to_string(static_cast<int>(code)) + ")";
  if (!detail.empty()) message.append(": ").append(detail);
  Status status(absl_code, message);
  status.SetPayload(std::string(kErrorPayloadUrl),
                    absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

std::optional<ErrorCode> GetErrorCode(const Status& status) {
  if (status.ok()) return std::nullopt;
  absl::optional<absl::Cord> payload = status.GetPayload(std::string(kErrorPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  int number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return static_cast<ErrorCode>(number);
}

bool HasErrorCode(const Status& status, ErrorCode code) {
  std::optional<ErrorCode> actual = GetErrorCode(status);
  return actual.has_value() && *actual == code;
}

std::string_view ErrorName(ErrorCode code) {
  const ErrorInfo* info = FindInfo(code);
  return info ? info->name : "unknown_error";
}

bool IsRetryable(const Status& status) {
  std::optional<ErrorCode> code = GetErrorCode(status);
  if (!code.has_value()) return false;
  const ErrorInfo* info = FindInfo(*code);
  return info != nullptr && info->retryable;
}

bool MaybeCommitted(const Status& status) {
  std::optional<ErrorCode> code = GetErrorCode(status);
  if (!code.has_value()) return false;
  const ErrorInfo* info = FindInfo(*code);
  return info != nullptr && info->maybe_committed;
}

}  // namespace recordstore
