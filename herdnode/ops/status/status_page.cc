#include "herdnode/ops/status/status_page.h"

#include <string>
#include <utility>

#include "herdnode/ops/status/status_assets.h"
#include "herdnode/ops/status/status_json.h"

namespace herd {

void AddStatusPageRoutes(std::function<StatusSnapshot()> snapshot,
                         HttpRoutes& routes) {
  routes["/"] = [] {
    return HttpReply{"text/html; charset=utf-8", std::string(StatusPageHtml())};
  };
  routes["/world.json"] = [] {
    return HttpReply{"application/json", std::string(WorldMapJson())};
  };
  routes["/status.json"] = [snapshot = std::move(snapshot)] {
    // Client ids are checked UTF-8 already; replacing (not throwing) keeps
    // one bad byte from taking the whole page down all the same.
    return HttpReply{
        "application/json",
        StatusJson(snapshot())
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  };
}

}  // namespace herd
