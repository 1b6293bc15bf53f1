#include "gateway/event_loops.h"

#include <exception>

namespace herd::gateway {

EventLoops::EventLoops(unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<Loop>());
    work_guards_.push_back(
        boost::asio::make_work_guard(loops_.back()->context));
  }
}

void EventLoops::Run(spdlog::logger& log) {
  for (const auto& loop : loops_) {
    threads_.emplace_back([&log, &context = loop->context] {
      // A handler that throws must not take the gateway down with it.
      for (;;) {
        try {
          context.run();
          return;
        } catch (const std::exception& error) {
          log.error("gateway event loop: {}", error.what());
        }
      }
    });
  }
}

void EventLoops::Stop() {
  for (const auto& loop : loops_) loop->context.stop();
  threads_.clear();  // joins
}

}  // namespace herd::gateway
