// Errors in Record-Store are absl::Status values that carry one number from a single table.
// The numbers are FoundationDB's where FDB has the error (so clients that know FDB know what
// they mean) and ours otherwise (8000 and up). The number travels as a Status payload; the
// absl canonical code is derived from it so that gRPC mapping stays mechanical.
//
// Thread-safety: everything here is immutable or pure.
#ifndef RECORDSTORE_STATUS_H_
#define RECORDSTORE_STATUS_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recordstore {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

// X(enumerator, number, name, absl code, retryable, maybe_committed)
#define RECORDSTORE_ERROR_TABLE(X)                                                            \
  X(kOperationFailed, 1000, "operation_failed", kInternal, false, false)                      \
  X(kTransactionTooOld, 1007, "transaction_too_old", kAborted, true, false)                   \
  X(kFutureVersion, 1009, "future_version", kUnavailable, true, false)                        \
  X(kNotCommitted, 1020, "not_committed", kAborted, true, false)                              \
  X(kCommitUnknownResult, 1021, "commit_unknown_result", kUnavailable, true, true)            \
  X(kTransactionCancelled, 1025, "transaction_cancelled", kCancelled, false, false)           \
  X(kTransactionTimedOut, 1031, "transaction_timed_out", kDeadlineExceeded, false, false)     \
  X(kTooManyWatches, 1032, "too_many_watches", kResourceExhausted, false, false)              \
  X(kWatchesDisabled, 1034, "watches_disabled", kFailedPrecondition, false, false)            \
  X(kAccessedUnreadable, 1036, "accessed_unreadable", kFailedPrecondition, false, false)      \
  X(kOperationCancelled, 1101, "operation_cancelled", kCancelled, false, false)              \
  X(kIoError, 1510, "io_error", kInternal, false, false)                                      \
  X(kClientInvalidOperation, 2000, "client_invalid_operation", kFailedPrecondition, false,    \
    false)                                                                                    \
  X(kKeyOutsideLegalRange, 2004, "key_outside_legal_range", kInvalidArgument, false, false)   \
  X(kInvertedRange, 2005, "inverted_range", kInvalidArgument, false, false)                   \
  X(kInvalidOptionValue, 2006, "invalid_option_value", kInvalidArgument, false, false)        \
  X(kInvalidMutationType, 2010, "invalid_mutation_type", kInvalidArgument, false, false)      \
  X(kUsedDuringCommit, 2017, "used_during_commit", kFailedPrecondition, false, false)         \
  X(kNoCommitVersion, 2021, "no_commit_version", kFailedPrecondition, false, false)           \
  X(kTransactionTooLarge, 2101, "transaction_too_large", kResourceExhausted, false, false)    \
  X(kKeyTooLarge, 2102, "key_too_large", kInvalidArgument, false, false)                      \
  X(kValueTooLarge, 2103, "value_too_large", kInvalidArgument, false, false)                  \
  X(kConnectionStringInvalid, 2104, "connection_string_invalid", kInvalidArgument, false,     \
    false)                                                                                    \
  X(kInvalidArgument, 8001, "invalid_argument", kInvalidArgument, false, false)               \
  X(kNotFound, 8002, "not_found", kNotFound, false, false)                                    \
  X(kAlreadyExists, 8003, "already_exists", kAlreadyExists, false, false)                     \
  X(kDataCorruption, 8004, "data_corruption", kDataLoss, false, false)                        \
  X(kInvalidContinuation, 8005, "invalid_continuation", kInvalidArgument, false, false)       \
  X(kUnsupported, 8006, "unsupported", kUnimplemented, false, false)                          \
  X(kInternalError, 8007, "internal_error", kInternal, false, false)                          \
  X(kUnauthenticated, 8008, "unauthenticated", kUnauthenticated, false, false)                \
  X(kPermissionDenied, 8009, "permission_denied", kPermissionDenied, false, false)           \
  X(kUniquenessViolation, 8010, "uniqueness_violation", kAlreadyExists, false, false)         \
  X(kMetadataTooOld, 8011, "metadata_too_old", kFailedPrecondition, false, false)             \
  X(kRecordTypeChanged, 8012, "record_type_changed", kFailedPrecondition, false, false)       \
  X(kIndexNotReadable, 8013, "index_not_readable", kFailedPrecondition, false, false)         \
  X(kStoreWithoutHeader, 8014, "store_without_header", kFailedPrecondition, false, false)     \
  X(kMissingIndex, 8015, "missing_index", kFailedPrecondition, false, false)

enum class ErrorCode : int {
// NOLINTNEXTLINE(bugprone-macro-parentheses): `sym` is an enumerator name.
#define RECORDSTORE_ERROR_ENUM(sym, num, name, absl_code, retryable, maybe) sym = num,
  RECORDSTORE_ERROR_TABLE(RECORDSTORE_ERROR_ENUM)
#undef RECORDSTORE_ERROR_ENUM
};

// Builds a Status for `code`. The message reads "<name> (<number>): <detail>".
Status MakeError(ErrorCode code, std::string_view detail = {});

// The table number carried by `status`, or nullopt for OK and for statuses from elsewhere.
std::optional<ErrorCode> GetErrorCode(const Status& status);

// True when `status` carries `code`.
bool HasErrorCode(const Status& status, ErrorCode code);

// The table's short name ("not_committed") for a number, or "unknown_error".
std::string_view ErrorName(ErrorCode code);

// True when retrying the whole transaction may succeed (FDB's retryable errors).
bool IsRetryable(const Status& status);

// True when the transaction may have committed although an error was returned (1021).
bool MaybeCommitted(const Status& status);

}  // namespace recordstore

#endif  // RECORDSTORE_STATUS_H_
