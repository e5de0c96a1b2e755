#include "auth/error.h"

#include <string>

#include "absl/strings/cord.h"

namespace recordstore::auth {
namespace {

constexpr std::string_view kDetailUrl = "type.recordstore.dev/auth_error_detail";

// A token that does not verify proves nothing about its holder (unauthenticated); a valid
// token whose checks or policies refuse the request is denied; the rest are caller errors.
ErrorCode TableCode(AuthErrorKind kind) {
  switch (kind) {
    case wire::AuthErrorDetail::FORMAT_DESERIALIZATION:
    case wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION:
    case wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE:
    case wire::AuthErrorDetail::INVALID_BLOCK_RULE:
      return ErrorCode::kUnauthenticated;
    case wire::AuthErrorDetail::FORMAT_VERSION:
      return ErrorCode::kUnsupported;
    case wire::AuthErrorDetail::UNAUTHORIZED:
    case wire::AuthErrorDetail::NO_MATCHING_POLICY:
    case wire::AuthErrorDetail::EXECUTION:
    case wire::AuthErrorDetail::RUN_LIMIT:
      return ErrorCode::kPermissionDenied;
    case wire::AuthErrorDetail::PARSE:
    case wire::AuthErrorDetail::SEALED:
      return ErrorCode::kInvalidArgument;
  }
  return ErrorCode::kInvalidArgument;
}

}  // namespace

Status MakeAuthError(const wire::AuthErrorDetail& detail) {
  std::string message(wire::AuthErrorDetail::Kind_Name(detail.kind()));
  if (detail.has_detail()) {
    message.append(": ").append(detail.detail());
  }
  if (detail.has_rule()) {
    message.append(": ").append(detail.rule());
  }
  for (const auto& check : detail.failed_checks()) {
    message.append("; failed ").append(check.rule());
  }
  Status status = MakeError(TableCode(detail.kind()), message);
  status.SetPayload(std::string(kDetailUrl), absl::Cord(detail.SerializeAsString()));
  return status;
}

Status MakeAuthError(AuthErrorKind kind, std::string_view detail) {
  wire::AuthErrorDetail message;
  message.set_kind(kind);
  message.set_detail(std::string(detail));
  return MakeAuthError(message);
}

std::optional<wire::AuthErrorDetail> GetAuthErrorDetail(const Status& status) {
  if (status.ok()) {
    return std::nullopt;
  }
  auto payload = status.GetPayload(std::string(kDetailUrl));
  if (!payload.has_value()) {
    return std::nullopt;
  }
  wire::AuthErrorDetail detail;
  std::string bytes;
  absl::CopyCordToString(*payload, &bytes);
  if (!detail.ParseFromString(bytes)) {
    return std::nullopt;
  }
  return detail;
}

bool HasAuthErrorKind(const Status& status, AuthErrorKind kind) {
  auto detail = GetAuthErrorDetail(status);
  return detail.has_value() && detail->kind() == kind;
}

}  // namespace recordstore::auth
