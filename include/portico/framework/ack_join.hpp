#pragma once
/// `portico::ack_join`: waits for several acks (to one client or several) and calls `done` once,
/// when the last one is in (answered, timed out or disconnected).
///
///     portico::ack_join both(2, [ack = ctx.take_ack()](std::vector<portico::ack_reply>& r) mutable {...});
///     ctx.emit_with_ack("q1", both.slot(0), 1s, ...);
///     ctx.emit_with_ack("q2", both.slot(1), 1s, ...);

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../json/dom.hpp"
#include "../socketio/socket.hpp"

namespace portico {

/// One ack as the join keeps it: its status and its arguments (a JSON array, empty unless ok).
struct ack_reply {
  socketio::ack_status status = socketio::ack_status::timeout;
  json::document values;
  bool ok() const noexcept { return status == socketio::ack_status::ok; }
};

class ack_join {
 public:
  using done_fn = std::function<void(std::vector<ack_reply>&)>;

  /// `done` runs once, on the thread of the last callback, with the replies in slot order.
  ack_join(std::size_t count, done_fn done) : st_(std::make_shared<state>()) {
    st_->replies.resize(count);
    st_->filled.assign(count, false);
    st_->left = count;
    st_->done = std::move(done);
    if (count == 0) st_->done(st_->replies);
  }

  /// The callback for reply `i` (an `ack_callback`); a slot answered twice keeps its first reply.
  socketio::ack_callback slot(std::size_t i) const {
    if (i >= st_->replies.size()) throw std::out_of_range("portico::ack_join: no slot " + std::to_string(i));
    return [st = st_, i](socketio::ack_status s, const socketio::args& a) {
      json::document d;
      d.SetArray();
      for (std::size_t k = 0; k < a.size(); ++k) d.PushBack(json::copy(a[k], d.GetAllocator()), d.GetAllocator());
      std::unique_lock<std::mutex> g(st->mu);
      if (st->filled[i]) return;
      st->filled[i] = true;
      st->replies[i].status = s;
      st->replies[i].values.Swap(d);
      if (--st->left != 0) return;
      g.unlock();  // every slot is filled: no one else touches the replies
      st->done(st->replies);
    };
  }

 private:
  struct state {
    std::mutex mu;
    std::vector<ack_reply> replies;
    std::vector<bool> filled;
    std::size_t left = 0;
    done_fn done;
  };
  std::shared_ptr<state> st_;
};

}  // namespace portico
