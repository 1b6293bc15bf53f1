// Where a listener binds: a "host:port" listen address (port 0: any free
// port) turned into a TCP endpoint, resolved once, before any event loop
// runs. The gateway's listeners and the HTTP listener bind through here.
#ifndef HERD_COMMON_LISTEN_ADDRESS_H_
#define HERD_COMMON_LISTEN_ADDRESS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace herd {

// An IP address is used as it is; a host name is resolved (passive, the
// first answer). Errors name the address and what is wrong.
absl::StatusOr<boost::asio::ip::tcp::endpoint> ResolveListenAddress(
    std::string_view address, boost::asio::io_context& context);

// The IPv4 address an IPv4-mapped IPv6 address maps (::ffff:127.0.0.2 and
// 127.0.0.2 are the same peer); any other address as it is.
boost::asio::ip::address UnmappedAddress(
    const boost::asio::ip::address& address);

// An endpoint as host:port ([v6]:port), its address unmapped.
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace herd

#endif  // HERD_COMMON_LISTEN_ADDRESS_H_
