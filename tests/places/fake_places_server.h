// A fake Places API (New) server for tests: a real HTTP/1.1 server on
// 127.0.0.1 (ephemeral port) with its own thread, that checks each
// places:searchNearby request the way Google would (method, path, headers,
// key, body) and answers as the test asks: places, slowly, 403, 429, garbage.
#ifndef HERD_TESTS_PLACES_FAKE_PLACES_SERVER_H_
#define HERD_TESTS_PLACES_FAKE_PLACES_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "boost/asio/awaitable.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace herd::places {

class FakePlacesServer {
 public:
  enum class Mode {
    kPlaces,     // 200 with places around the requested centre
    kSlow,       // reads the request, then never answers
    kForbidden,  // 403 PERMISSION_DENIED
    kQuota,      // 429 RESOURCE_EXHAUSTED
    kGarbage,    // 200 with a body that is not JSON
  };

  // What a request carried, as the server saw it.
  struct Seen {
    std::string method;
    std::string target;
    std::string content_type;
    std::string api_key;
    std::string field_mask;
    std::string body;
    // Empty if the request was what Google expects; else why not (the
    // server then answered 400 with that as error.message).
    std::string problem;
  };

  explicit FakePlacesServer(std::string expected_key);
  ~FakePlacesServer();
  FakePlacesServer(const FakePlacesServer&) = delete;
  FakePlacesServer& operator=(const FakePlacesServer&) = delete;

  std::string base_url() const;
  void set_mode(Mode mode);
  std::vector<Seen> requests();

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);

  const std::string expected_key_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built for
  // ThreadSanitizer, which then cannot see absl::Mutex's ordering.
  std::mutex mu_;
  Mode mode_ = Mode::kPlaces;  // guarded by mu_
  std::vector<Seen> seen_;     // guarded by mu_
  std::thread thread_;
};

}  // namespace herd::places

#endif  // HERD_TESTS_PLACES_FAKE_PLACES_SERVER_H_
