// AsyncQueue<T>: hands values from any thread to one coroutine.
//
// Push() may be called from any thread; it never blocks on the consumer. PopAll() is awaited by a
// single coroutine running on `executor` (a strand or a single-threaded io_context); it returns
// every value pushed so far, waiting if there are none. Cancelling the awaiting coroutine (e.g.
// through `||`) throws operation_aborted out of PopAll().
// Ownership: hold it in a shared_ptr; pushes keep it alive until their wake-up has run.
#pragma once

#include <boost/asio.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace cohost::net {

template <typename T>
class AsyncQueue : public std::enable_shared_from_this<AsyncQueue<T>> {
 public:
  explicit AsyncQueue(boost::asio::any_io_executor executor)
      : executor_(executor), timer_(executor, boost::asio::steady_timer::time_point::max()) {}

  void Push(T value) {
    {
      std::lock_guard<std::mutex> l(mu_);
      items_.push_back(std::move(value));
      if (wake_pending_) return;
      wake_pending_ = true;
    }
    boost::asio::post(executor_, [self = this->shared_from_this()] { self->timer_.cancel(); });
  }

  boost::asio::awaitable<std::vector<T>> PopAll() {
    for (;;) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!items_.empty()) {
          std::vector<T> out;
          out.swap(items_);
          wake_pending_ = false;
          co_return out;
        }
      }
      timer_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      auto state = co_await boost::asio::this_coro::cancellation_state;
      if (state.cancelled() != boost::asio::cancellation_type::none) {
        throw boost::system::system_error(boost::asio::error::operation_aborted);
      }
    }
  }

 private:
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;  // used only on executor_
  std::mutex mu_;
  std::vector<T> items_;             // guarded by mu_
  bool wake_pending_ = false;        // guarded by mu_
};

}  // namespace cohost::net
