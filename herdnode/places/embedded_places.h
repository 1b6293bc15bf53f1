// The default places provider: GeoNames' populated places from the index the
// build made, searched with an S2 closest-point query. Offline, no key.
#ifndef HERD_HERDNODE_PLACES_EMBEDDED_PLACES_H_
#define HERD_HERDNODE_PLACES_EMBEDDED_PLACES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "herdnode/places/gazetteer_index.h"
#include "herdnode/places/places_provider.h"
#include "s2/s2point_index.h"

namespace herd::places {

class EmbeddedPlaces final : public PlacesProvider {
 public:
  // Loads the index at index_path; errors name the path and the problem.
  static absl::StatusOr<std::unique_ptr<EmbeddedPlaces>> Load(
      const std::string& index_path);

  // Answers synchronously: done runs on the calling thread before this
  // returns. A lookup is an in-memory S2 query over an immutable index that
  // takes well under a millisecond (see bench/places), so handing it to
  // another thread would cost more than it saves; it never touches I/O, so it
  // cannot stall the gateway's loop or other clients.
  void FindNearby(const NearbyQuery& query, Done done) override;

  // The same lookup, returning its answer. Thread-safe.
  absl::StatusOr<std::vector<v1::Place>> Find(const NearbyQuery& query) const;

  size_t size() const { return gazetteer_.size(); }

  // Indexes an already loaded gazetteer (Load is the usual way in).
  explicit EmbeddedPlaces(Gazetteer gazetteer);

 private:
  v1::Place ToPlace(uint32_t row) const;

  const Gazetteer gazetteer_;
  // Read-only after construction; each query makes its own
  // S2ClosestPointQuery, since those are not thread-safe but the index is.
  S2PointIndex<uint32_t> index_;
};

}  // namespace herd::places

#endif  // HERD_HERDNODE_PLACES_EMBEDDED_PLACES_H_
