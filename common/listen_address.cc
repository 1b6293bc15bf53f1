#include "common/listen_address.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace herd {

namespace asio = boost::asio;
using asio::ip::tcp;

absl::StatusOr<tcp::endpoint> ResolveListenAddress(std::string_view address,
                                                   asio::io_context& context) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address, PortZero::kAllowed);
  if (!parsed.ok()) return parsed.status();
  boost::system::error_code error;
  const asio::ip::address ip = asio::ip::make_address(parsed->host, error);
  if (!error) return tcp::endpoint(ip, parsed->port);
  tcp::resolver resolver(context);
  const auto results =
      resolver.resolve(parsed->host, std::to_string(parsed->port),
                       tcp::resolver::passive, error);
  if (error || results.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address '", std::string(address), "': cannot resolve ", parsed->host,
        ": ", error ? error.message() : "no addresses"));
  }
  return results.begin()->endpoint();
}

asio::ip::address UnmappedAddress(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  return FormatHostPort(UnmappedAddress(endpoint.address()).to_string(),
                        endpoint.port());
}

}  // namespace herd
