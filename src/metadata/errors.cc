#include "metadata/errors.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace recordstore::metadata {

Status WithContext(std::string_view context, const Status& cause) {
  if (cause.ok()) return cause;
  std::optional<ErrorCode> code = GetErrorCode(cause);
  std::string_view detail(cause.message().data(), cause.message().size());
  if (!code.has_value()) {
    return MakeError(ErrorCode::kInternalError,
                     absl::StrCat(std::string(context), ": ", std::string(detail)));
  }
  // MakeError wrote "<name> (<number>): <detail>".
  if (size_t colon = detail.find(": "); colon != std::string_view::npos) {
    detail.remove_prefix(colon + 2);
  }
  return MakeError(*code, absl::StrCat(std::string(context), ": ", std::string(detail)));
}

}  // namespace recordstore::metadata
