// Error helpers shared by the metadata layer (internal).
#ifndef RECORDSTORE_METADATA_ERRORS_H_
#define RECORDSTORE_METADATA_ERRORS_H_

#include <string_view>

#include "recordstore/status.h"

namespace recordstore::metadata {

// `cause` with "<context>: " put before its detail, keeping its error code:
// WithContext("index by_city", "invalid_argument (8001): field X does not exist") is
// "invalid_argument (8001): index by_city: field X does not exist". OK stays OK.
Status WithContext(std::string_view context, const Status& cause);

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_ERRORS_H_
