// The gateway's event loops: one io_context per thread, each run by that
// thread alone. A connection lives on one of them (taken in turn), so its
// handlers never run concurrently and need no strand. (A strand executor is
// too big for asio's type-erased executor to hold inline: with one, nearly
// every asynchronous operation and post allocated.)
#ifndef HERD_GATEWAY_EVENT_LOOPS_H_
#define HERD_GATEWAY_EVENT_LOOPS_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "spdlog/logger.h"

namespace herd::gateway {

class EventLoops {
 public:
  struct Loop {
    // One thread runs it (posts from other threads stay safe).
    boost::asio::io_context context{1};
    // The report batcher's linger timer for connections on this loop.
    boost::asio::steady_timer linger_timer{context};
  };

  explicit EventLoops(unsigned count);

  boost::asio::io_context& first() { return loops_.front()->context; }
  // The loop for a new connection. Only the accept loops call it (they all
  // run on the first loop).
  Loop& next() { return *loops_[next_++ % loops_.size()]; }
  size_t size() const { return loops_.size(); }

  // Starts a thread for each loop; a handler that throws is logged and its
  // loop goes on.
  void Run(spdlog::logger& log);
  // Stops every loop and joins its thread.
  void Stop();

 private:
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_guards_;
  std::vector<std::jthread> threads_;
  size_t next_ = 0;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_EVENT_LOOPS_H_
