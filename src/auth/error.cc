#include "auth/error.h"

#include <string>

#include "absl/strings/cord.h"

namespace recordstore::auth {
namespace {

constexpr std::string_view kDetailUrl = "type.recordstore.dev/auth_error_detail";

ErrorCode TableCode(AuthErrorKind kind) {
  switch (kind) {
    case wire::AuthErrorDetail::FORMAT_VERSION:
      return ErrorCode::kUnsupported;
    default:
      return ErrorCode::kInvalidArgument;
  }
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
