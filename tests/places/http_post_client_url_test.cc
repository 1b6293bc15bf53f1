// Base URLs the Google provider accepts.
#include <gtest/gtest.h>

#include "herdnode/places/http_post_client.h"

namespace herd::places {
namespace {

TEST(ParseBaseUrlTest, AcceptsHttpAndHttps) {
  auto google = ParseBaseUrl("https://places.googleapis.com");
  ASSERT_TRUE(google.ok()) << google.status();
  EXPECT_TRUE(google->tls);
  EXPECT_EQ(google->host, "places.googleapis.com");
  EXPECT_EQ(google->port, "443");
  EXPECT_EQ(google->path_prefix, "");

  auto fake = ParseBaseUrl("http://127.0.0.1:8123/proxy/");
  ASSERT_TRUE(fake.ok()) << fake.status();
  EXPECT_FALSE(fake->tls);
  EXPECT_EQ(fake->host, "127.0.0.1");
  EXPECT_EQ(fake->port, "8123");
  EXPECT_EQ(fake->path_prefix, "/proxy");

  auto v6 = ParseBaseUrl("http://[::1]:99");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "99");
}

TEST(ParseBaseUrlTest, RefusesOthersNamingTheUrl) {
  for (const char* url : {"places.googleapis.com", "ftp://x", "http://",
                          "http://host:port", "http://[::1", "https://:443"}) {
    auto ep = ParseBaseUrl(url);
    ASSERT_FALSE(ep.ok()) << url;
    EXPECT_NE(ep.status().message().find(url), std::string::npos)
        << ep.status();
  }
}

}  // namespace
}  // namespace herd::places
