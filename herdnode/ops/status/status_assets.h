// The status page's files, built into the binary at build time (see
// CMakeLists.txt here): the page itself and the world map that
// world_map.py made from the pinned world-atlas npm package.
#ifndef HERD_HERDNODE_OPS_STATUS_STATUS_ASSETS_H_
#define HERD_HERDNODE_OPS_STATUS_STATUS_ASSETS_H_

#include <string_view>

namespace herd {

// status_page.html as it is in the source tree.
std::string_view StatusPageHtml();
// {"width", "height", "land", "borders", "source"}: SVG path data in an
// equirectangular projection (x = longitude + 180, y = 90 - latitude).
std::string_view WorldMapJson();

}  // namespace herd

#endif  // HERD_HERDNODE_OPS_STATUS_STATUS_ASSETS_H_
