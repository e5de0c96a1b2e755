// Helpers for rewording errors without losing what they carry.
#ifndef RECORDSTORE_COMMON_STATUS_UTIL_H_
#define RECORDSTORE_COMMON_STATUS_UTIL_H_

#include <string>

#include "recordstore/status.h"

namespace recordstore {

// `error` with `message` instead of its own message; the code and every payload (among them
// the error number, see recordstore/status.h) stay. An OK `error` stays OK.
Status WithMessage(const Status& error, std::string message);

}  // namespace recordstore

#endif  // RECORDSTORE_COMMON_STATUS_UTIL_H_
