// ReadDeadline: a time limit on reading from one connection.
//
// Arm() before a read; when the time passes first, the socket's pending operations are
// cancelled (the read ends with operation_aborted) and fired() turns true. Disarm() after the
// read. Only reads are bounded this way: a response, however long it streams, is never cut.
//
// Threads: used on the connection's strand only (the timer shares the socket's executor). The
// timer's handler holds the shared state, not this object, and touches the socket only while
// the arming that scheduled it is current, so it is safe to destroy this while a handler waits.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace cohost::net {

template <typename Socket>
class ReadDeadline {
 public:
  explicit ReadDeadline(Socket& socket) : timer_(socket.get_executor()), state_(std::make_shared<State>()) {
    state_->socket = &socket;
  }
  ~ReadDeadline() { Disarm(); }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;

  // Starts a new limit of `seconds` (<= 0: none). Clears fired().
  void Arm(double seconds) {
    Disarm();
    state_->fired = false;
    if (seconds <= 0) return;
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds)));
    timer_.async_wait([state = state_, generation = state_->generation](const boost::system::error_code& ec) {
      if (ec || generation != state->generation) return;
      state->fired = true;
      boost::system::error_code ignored;
      state->socket->cancel(ignored);
    });
  }
  // Ends the current limit; a handler already queued does nothing.
  void Disarm() {
    ++state_->generation;
    timer_.cancel();
  }
  bool fired() const { return state_->fired; }

 private:
  struct State {
    Socket* socket = nullptr;
    uint64_t generation = 0;
    bool fired = false;
  };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace cohost::net
