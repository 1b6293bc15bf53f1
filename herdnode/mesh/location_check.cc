#include "herdnode/mesh/location_check.h"

#include <algorithm>
#include <cctype>
#include <compare>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/location_text.h"

namespace herd {
namespace {

bool HasWhitespaceOrControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) != 0 || std::iscntrl(u) != 0;
  });
}

}  // namespace

absl::Status CheckClientId(std::string_view client_id) {
  if (client_id.empty()) {
    return absl::InvalidArgumentError("client ID is empty");
  }
  if (client_id.size() > kMaxClientIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ID ", QuoteForMessage(client_id),
                     " is longer than ", kMaxClientIdBytes, " bytes"));
  }
  if (HasWhitespaceOrControl(client_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("client ID ", QuoteForMessage(client_id),
                     " contains whitespace or a control character"));
  }
  return absl::OkStatus();
}

absl::Status CheckInstant(const v1::Instant& instant, std::string_view what) {
  if (instant.nanos() < 0 || instant.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " has nanos ", instant.nanos(),
                     " outside [0, 999999999]"));
  }
  return absl::OkStatus();
}

absl::Status CheckPeerLocation(const v1::Location& location) {
  if (absl::Status status = CheckClientId(location.client_id()); !status.ok()) {
    return status;
  }
  absl::StatusOr<Coordinates> coordinates =
      ParseCoordinates(location.coordinates_text());
  if (!coordinates.ok()) return coordinates.status();
  // Both sides parse the same text with the same code, so the doubles must
  // be identical; anything else is a sender bug or tampering.
  if (coordinates->latitude != location.latitude() ||
      coordinates->longitude != location.longitude()) {
    return absl::InvalidArgumentError(
        absl::StrCat("latitude/longitude of client ", location.client_id(),
                     " do not match coordinates ",
                     QuoteForMessage(location.coordinates_text())));
  }
  absl::StatusOr<v1::Instant> client_time =
      ParseClientTime(location.client_time_text());
  if (!client_time.ok()) return client_time.status();
  if (std::is_neq(CompareInstants(*client_time, location.client_time()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("client_time of client ", location.client_id(),
                     " does not match time stamp ",
                     QuoteForMessage(location.client_time_text())));
  }
  if (location.origin_server().empty() ||
      HasWhitespaceOrControl(location.origin_server())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "origin_server ", QuoteForMessage(location.origin_server()),
        " of client ", location.client_id(),
        " is empty or contains whitespace or a control character"));
  }
  if (absl::Status valid = CheckInstant(location.server_time(), "server_time");
      !valid.ok()) {
    return valid;
  }
  return CheckRecordSize(location);
}

absl::Status LocationFromReport(const v1::ReportLocationRequest& report,
                                std::string_view origin_server,
                                uint32_t max_client_time_ahead_seconds,
                                v1::Location* location) {
  if (absl::Status valid = CheckClientId(report.client_id()); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<Coordinates> coordinates =
      ParseCoordinates(report.coordinates_text());
  if (!coordinates.ok()) return coordinates.status();
  absl::StatusOr<v1::Instant> client_time =
      ParseClientTime(report.client_time_text());
  if (!client_time.ok()) return client_time.status();
  const v1::Instant now = WallClockNow();
  // Against the node's own clock, not received_at: an operator's caller
  // sets received_at itself.
  v1::Instant ahead;
  ahead.set_seconds(max_client_time_ahead_seconds);
  if (std::is_gt(CompareInstants(*client_time, AddDuration(now, ahead)))) {
    return absl::InvalidArgumentError(
        absl::StrCat("time stamp ", QuoteForMessage(report.client_time_text()),
                     " is more than ", max_client_time_ahead_seconds,
                     " seconds ahead of this server's clock"));
  }
  const v1::Instant received_at =
      report.has_received_at() ? report.received_at() : now;
  if (absl::Status valid = CheckInstant(received_at, "received_at");
      !valid.ok()) {
    return valid;
  }
  location->set_client_id(report.client_id());
  location->set_latitude(coordinates->latitude);
  location->set_longitude(coordinates->longitude);
  location->set_coordinates_text(report.coordinates_text());
  location->set_client_time_text(report.client_time_text());
  *location->mutable_client_time() = *client_time;
  location->set_origin_server(origin_server.data(), origin_server.size());
  *location->mutable_server_time() = received_at;
  return CheckRecordSize(*location);
}

}  // namespace herd
