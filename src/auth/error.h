// Biscuit failures as Status values. Every error returned by src/auth carries an
// AuthErrorDetail payload (auth_error.proto) that says which class of failure it is; the
// Status code comes from the Record-Store error table (kInvalidArgument for bad tokens and
// refused authorizations, kUnsupported for unknown versions, kInternalError for crypto
// library failures).
//
// Thread-safety: pure functions.
#ifndef RECORDSTORE_AUTH_ERROR_H_
#define RECORDSTORE_AUTH_ERROR_H_

#include <optional>
#include <string_view>

#include "auth/auth_error.pb.h"
#include "recordstore/status.h"

namespace recordstore::auth {

using AuthErrorKind = wire::AuthErrorDetail::Kind;

// A Status for `detail`, with the human-readable message "<kind>: <detail.detail()>".
Status MakeAuthError(const wire::AuthErrorDetail& detail);

// Shorthand for an error of `kind` whose only information is the text `detail`.
Status MakeAuthError(AuthErrorKind kind, std::string_view detail);

// The structured detail of `status`, or nullopt when it is OK or did not come from src/auth.
std::optional<wire::AuthErrorDetail> GetAuthErrorDetail(const Status& status);

// True when `status` carries an AuthErrorDetail of `kind`.
bool HasAuthErrorKind(const Status& status, AuthErrorKind kind);

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_ERROR_H_
