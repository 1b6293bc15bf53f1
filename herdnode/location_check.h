// Checks on locations that arrive from outside this node: from clients (via
// the gateway) and from peers (PropagateLocation, Sync). A bad location is
// refused with a message naming the field, never stored or flooded.
#ifndef HERD_HERDNODE_LOCATION_CHECK_H_
#define HERD_HERDNODE_LOCATION_CHECK_H_

#include <string_view>

#include "absl/status/status.h"
#include "herd/v1/herd.pb.h"

namespace herd {

// A client ID is one token of the text protocol: non-empty, no whitespace.
absl::Status CheckClientId(std::string_view client_id);

// An Instant is normalized: nanos in [0, 999999999].
absl::Status CheckInstant(const v1::Instant& instant, std::string_view what);

// A complete location from a peer: valid client ID, coordinates_text that
// parses to exactly latitude/longitude, client_time_text that parses to
// exactly client_time, an origin server and a normalized server_time.
absl::Status CheckPeerLocation(const v1::Location& location);

// The location a client's report describes, as received by origin_server:
// checks the client ID and parses the coordinates and time stamp exactly;
// received_at (the node's clock if unset) becomes server_time. On error,
// *location is left unspecified. Shared by ReportLocation and the batched
// ReportLocations, so the two answer every report alike.
absl::Status LocationFromReport(const v1::ReportLocationRequest& report,
                                std::string_view origin_server,
                                v1::Location* location);

}  // namespace herd

#endif  // HERD_HERDNODE_LOCATION_CHECK_H_
