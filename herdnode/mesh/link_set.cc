#include "herdnode/mesh/link_set.h"

#include <utility>

namespace herd {

std::shared_ptr<PeerLink> LinkSet::Find(std::string_view name) const {
  const std::shared_ptr<const Links> links = All();
  // A handful of links: a scan beats hashing the name.
  for (const std::shared_ptr<PeerLink>& link : *links) {
    if (link->name() == name) return link;
  }
  return nullptr;
}

std::shared_ptr<const LinkSet::Links> LinkSet::All() const {
  MutexLock lock(&mu_);
  return links_;
}

void LinkSet::Set(Links links) {
  auto next = std::make_shared<const Links>(std::move(links));
  MutexLock lock(&mu_);
  links_.swap(next);
}

}  // namespace herd
