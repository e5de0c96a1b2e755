#include "common/status_util.h"

#include <utility>

#include "absl/strings/cord.h"

namespace recordstore {

Status WithMessage(const Status& error, std::string message) {
  Status reworded(error.code(), std::move(message));
  error.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { reworded.SetPayload(url, payload); });
  return reworded;
}

}  // namespace recordstore
