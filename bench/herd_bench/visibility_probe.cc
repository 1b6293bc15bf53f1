#include "bench/herd_bench/visibility_probe.h"

#include <chrono>
#include <functional>

#include "bench/herd_bench/reply_reader.h"
#include "boost/asio/associated_executor.hpp"
#include "boost/asio/async_result.hpp"
#include "boost/asio/execution/outstanding_work.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/prefer.hpp"
#include "boost/asio/this_coro.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "common/location_text.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::bench {
namespace asio = boost::asio;

namespace {

class WhatsatProbe : public VisibilityProbe {
 public:
  WhatsatProbe(const asio::any_io_executor& executor, Endpoint server,
               absl::Duration io_timeout)
      : server_(std::move(server)),
        connection_(std::make_shared<LineConnection>(executor, io_timeout)) {}

  asio::awaitable<absl::Status> Connect() override {
    co_return co_await connection_->Connect(server_);
  }

  asio::awaitable<absl::StatusOr<std::optional<std::string>>> Look(
      const std::string& client_id) override {
    const std::string line = fmt::format("WHATSAT {} {} {}\n", client_id,
                                         kWhatsatRadiusKm, kWhatsatMaxResults);
    if (absl::Status written = co_await connection_->Write(line);
        !written.ok()) {
      co_return written;
    }
    auto reply = co_await ReadRawReply(*connection_, Request::Kind::kWhatsat);
    if (!reply.ok()) co_return reply.status();
    if (reply->first_line.starts_with("? ")) co_return std::nullopt;
    // The AT line itself is compared with A's reply by the caller.
    ReplyVerdict verdict = CheckWhatsatReply(
        reply->first_line, reply->json, reply->first_line, kWhatsatMaxResults);
    if (!verdict.ok()) co_return absl::DataLossError(verdict.detail);
    co_return std::move(reply->first_line);
  }

  void Close() override { connection_->Close(); }
  const char* method() const override { return "WHATSAT"; }

 private:
  Endpoint server_;
  std::shared_ptr<LineConnection> connection_;
};

class GetLocationProbe : public VisibilityProbe {
 public:
  GetLocationProbe(std::string grpc_target, absl::Duration io_timeout)
      : grpc_target_(std::move(grpc_target)),
        io_timeout_(absl::ToChronoNanoseconds(io_timeout)) {}

  asio::awaitable<absl::Status> Connect() override {
    stub_ = v1::HerdNode::NewStub(
        grpc::CreateChannel(grpc_target_, grpc::InsecureChannelCredentials()));
    co_return absl::OkStatus();
  }

  asio::awaitable<absl::StatusOr<std::optional<std::string>>> Look(
      const std::string& client_id) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + io_timeout_);
    v1::GetLocationRequest request;
    request.set_client_id(client_id);
    v1::GetLocationResponse response;
    const grpc::Status status =
        co_await CallGetLocation(context, request, response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      co_return std::nullopt;
    }
    if (!status.ok()) {
      co_return absl::UnavailableError(fmt::format(
          "GetLocation on {}: {}", grpc_target_, status.error_message()));
    }
    const v1::Location& location = response.location();
    co_return fmt::format(
        "AT {} {} {} {} {}", location.origin_server(),
        FormatTimeDifference(location.server_time(), location.client_time()),
        location.client_id(), location.coordinates_text(),
        location.client_time_text());
  }

  void Close() override { stub_.reset(); }
  const char* method() const override { return "GetLocation"; }

 private:
  // Runs the call on gRPC's own threads and resumes this coroutine on its
  // executor, so the event loop never blocks. The caller's frame owns the
  // context and messages, and stays suspended until the callback has run
  // (the deadline bounds the wait).
  asio::awaitable<grpc::Status> CallGetLocation(
      grpc::ClientContext& context, const v1::GetLocationRequest& request,
      v1::GetLocationResponse& response) {
    auto initiation = [this, &context, &request, &response](auto handler) {
      using Handler = decltype(handler);
      auto work = asio::prefer(asio::get_associated_executor(handler),
                               asio::execution::outstanding_work.tracked);
      // std::function needs a copyable callable; the handler is move-only.
      auto shared_handler = std::make_shared<Handler>(std::move(handler));
      stub_->async()->GetLocation(
          &context, &request, &response,
          [work, shared_handler](grpc::Status status) {
            asio::post(work, [shared_handler, status = std::move(status)] {
              // Moved out, so whichever thread drops the last reference
              // destroys an empty handler.
              Handler resume = std::move(*shared_handler);
              std::move(resume)(status);
            });
          });
    };
    return asio::async_initiate<decltype(asio::use_awaitable),
                                void(grpc::Status)>(std::move(initiation),
                                                    asio::use_awaitable);
  }

  std::string grpc_target_;
  std::chrono::nanoseconds io_timeout_;
  std::unique_ptr<v1::HerdNode::Stub> stub_;
};

}  // namespace

std::unique_ptr<VisibilityProbe> MakeWhatsatProbe(
    const asio::any_io_executor& executor, Endpoint server,
    absl::Duration io_timeout) {
  return std::make_unique<WhatsatProbe>(executor, std::move(server),
                                        io_timeout);
}

std::unique_ptr<VisibilityProbe> MakeGetLocationProbe(
    std::string grpc_target, absl::Duration io_timeout) {
  return std::make_unique<GetLocationProbe>(std::move(grpc_target), io_timeout);
}

}  // namespace herd::bench
