// Checks on locations that arrive from outside this node: from clients (via
// the gateway) and from peers (PropagateLocation, Sync). A bad location is
// refused with a message naming the field, never stored or flooded.
#ifndef HERD_HERDNODE_MESH_LOCATION_CHECK_H_
#define HERD_HERDNODE_MESH_LOCATION_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/durable/record_format.h"

namespace herd {

// The longest client ID the herd takes, on every way in: client reports
// (IAMAT, ReportLocation(s)) and peer updates (AT lines,
// PropagateLocation(s), Sync). With it, a Location (coordinates and time
// stamp texts of a few dozen bytes, a server name) serializes far below
// kMaxRecordPayload, so what the store accepts the journal can record; and
// an IAMAT naming such a client fits the gateway's default 4096-byte line.
inline constexpr size_t kMaxClientIdBytes = 1024;
static_assert(kMaxClientIdBytes < kMaxRecordPayload / 2);

// A client ID is one token of the text protocol: non-empty, at most
// kMaxClientIdBytes, no whitespace.
absl::Status CheckClientId(std::string_view client_id);

// An Instant is normalized: nanos in [0, 999999999].
absl::Status CheckInstant(const v1::Instant& instant, std::string_view what);

// A complete location from a peer: valid client ID, coordinates_text that
// parses to exactly latitude/longitude, client_time_text that parses to
// exactly client_time, an origin server, a normalized server_time, and small
// enough for the journal (CheckRecordSize). No bound on client_time: the
// update was accepted where it entered the herd, and every server must apply
// what another one accepted.
absl::Status CheckPeerLocation(const v1::Location& location);

// The location a client's report describes, as received by origin_server:
// checks the client ID and parses the coordinates and time stamp exactly;
// received_at (the node's clock if unset) becomes server_time. A time stamp
// more than max_client_time_ahead_seconds ahead of the node's clock is
// refused: the newest time stamp wins, so one far in the future would make
// every later real report for that client stale. The result must fit the
// journal (CheckRecordSize). On error, *location is left unspecified. Shared
// by ReportLocation and the batched ReportLocations, so the two answer every
// report alike.
absl::Status LocationFromReport(const v1::ReportLocationRequest& report,
                                std::string_view origin_server,
                                uint32_t max_client_time_ahead_seconds,
                                v1::Location* location);

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_LOCATION_CHECK_H_
