// Locations for tests, valid in every field a peer would check.
#ifndef HERD_TESTS_HERDNODE_TEST_LOCATION_H_
#define HERD_TESTS_HERDNODE_TEST_LOCATION_H_

#include <string>

#include "common/location_text.h"
#include "herd/v1/herd.pb.h"

namespace herd::testing {

// client_time_text is parsed, so the texts and numbers always agree.
inline v1::Location MakeLocation(
    const std::string& client_id, const std::string& client_time_text,
    const std::string& coordinates_text = "+34.068930-118.445127",
    const std::string& origin = "Origin") {
  v1::Location location;
  location.set_client_id(client_id);
  const Coordinates coordinates = *ParseCoordinates(coordinates_text);
  location.set_latitude(coordinates.latitude);
  location.set_longitude(coordinates.longitude);
  location.set_coordinates_text(coordinates_text);
  location.set_client_time_text(client_time_text);
  *location.mutable_client_time() = *ParseClientTime(client_time_text);
  location.set_origin_server(origin);
  *location.mutable_server_time() = WallClockNow();
  return location;
}

}  // namespace herd::testing

#endif  // HERD_TESTS_HERDNODE_TEST_LOCATION_H_
