// An absl::Status message as a std::string. Debian's absl::string_view is
// its own type: fmt cannot print it and std::string converts it only
// explicitly, so every place that logs or forwards a message goes through
// here.
#ifndef HERD_COMMON_STATUS_TEXT_H_
#define HERD_COMMON_STATUS_TEXT_H_

#include <string>

#include "absl/status/status.h"

namespace herd {

inline std::string StatusMessage(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

}  // namespace herd

#endif  // HERD_COMMON_STATUS_TEXT_H_
