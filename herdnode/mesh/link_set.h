// The node's current links, one per linked peer. Every call that must know
// whether a server is linked (and count on its link) looks here; a reloaded
// herd file replaces the set as a whole. Links are shared: a call that found
// one keeps it alive even if the set moves on meanwhile.
#ifndef HERD_HERDNODE_MESH_LINK_SET_H_
#define HERD_HERDNODE_MESH_LINK_SET_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "herdnode/mesh/peer_link.h"

namespace herd {

class LinkSet {
 public:
  using Links = std::vector<std::shared_ptr<PeerLink>>;

  // The link to the server called name, or null if it is not linked here.
  std::shared_ptr<PeerLink> Find(std::string_view name) const;
  // Every link, in the herd file's order.
  std::shared_ptr<const Links> All() const;
  // Replaces the set. Thread-safe; links no longer in it are the caller's
  // to stop.
  void Set(Links links);

 private:
  mutable Mutex mu_;
  std::shared_ptr<const Links> links_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<const Links>();
};

}  // namespace herd

#endif  // HERD_HERDNODE_MESH_LINK_SET_H_
