#include "common/host_port.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace herd {
namespace {

bool IsHostName(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '.' || c == '_';
  });
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(std::string_view address,
                                       PortZero port_zero) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address '", std::string(address), "' ", std::string(why)));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return bad("is not host:port");
  }
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return bad("has an unclosed IPv6 bracket");
    }
    host = host.substr(1, host.size() - 2);
    in6_addr v6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
      return bad("has an invalid IPv6 address in brackets");
    }
  } else if (host.find(':') != std::string_view::npos) {
    return bad("has an IPv6 address without brackets (write [::1]:port)");
  } else if (!IsHostName(host)) {
    return bad("has no valid host name or IPv4 address");
  }
  const uint32_t lowest = port_zero == PortZero::kAllowed ? 0 : 1;
  uint32_t port = 0;
  const auto [end, error] = std::from_chars(
      port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc{} ||
      end != port_text.data() + port_text.size() || port < lowest ||
      port > 65535) {
    return bad(
        absl::StrCat("has a port that is not a number in ", lowest, "..65535"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  return host.find(':') == std::string_view::npos
             ? absl::StrCat(std::string(host), ":", port)
             : absl::StrCat("[", std::string(host), "]:", port);
}

bool IsIpAddress(std::string_view text) {
  const std::string copy(text);
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, copy.c_str(), &v4) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), &v6) == 1;
}

}  // namespace herd
