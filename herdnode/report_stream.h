// The receiving end of the gateway's ReportLocations stream: batches of
// client reports, each checked and flooded exactly as the unary
// ReportLocation would, each request message answered by one response
// message (in request order), so the per-call cost of gRPC is paid per batch.
#ifndef HERD_HERDNODE_REPORT_STREAM_H_
#define HERD_HERDNODE_REPORT_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/cq_reactor.h"
#include "herd/v1/herd.grpc.pb.h"
#include "herdnode/store/flooding.h"
#include "spdlog/logger.h"

namespace herd {

// The calls of service's ReportLocations, for ServerCalls::Serve; each owns
// itself until gRPC is done with it. self_name is the origin_server of every
// location they make; see LocationFromReport for
// max_client_time_ahead_seconds.
ServerCalls::Factory ReportStreamCalls(v1::HerdNode::AsyncService& service,
                                       std::string self_name,
                                       uint32_t max_client_time_ahead_seconds,
                                       Flooder& flooder,
                                       std::shared_ptr<spdlog::logger> log);

}  // namespace herd

#endif  // HERD_HERDNODE_REPORT_STREAM_H_
