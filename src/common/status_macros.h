// RETURN_IF_ERROR / ASSIGN_OR_RETURN, written once for the whole code base.
#ifndef RECORDSTORE_COMMON_STATUS_MACROS_H_
#define RECORDSTORE_COMMON_STATUS_MACROS_H_

#include "recordstore/status.h"

#define RS_STATUS_CONCAT_INNER(a, b) a##b
#define RS_STATUS_CONCAT(a, b) RS_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status) and returns it from the enclosing function when not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::recordstore::Status rs_status_tmp = (expr);  \
    if (!rs_status_tmp.ok()) return rs_status_tmp; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (a StatusOr<T>); on error returns the status,
// otherwise moves the value into `lhs` (which may be a declaration: `auto x`, hence no
// parentheses around it).
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN(lhs, expr) \
  RS_ASSIGN_OR_RETURN_IMPL(RS_STATUS_CONCAT(rs_statusor_, __LINE__), lhs, expr)
#define RS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // RECORDSTORE_COMMON_STATUS_MACROS_H_
