#pragma once
/// A coarse timing wheel: one per I/O thread, one Asio timer for all of that thread's
/// connections. A connection is an intrusive entry (two pointers and a tick count, no
/// allocation to arm or disarm), so an idle connection costs no timer object of its own.
/// Not thread-safe: every entry belongs to the wheel's thread.

#include <chrono>
#include <cstdint>
#include <vector>

namespace portico::net {

namespace detail {
/// A node of a circular doubly linked list; a lone node has null links.
struct wheel_link {
  wheel_link* prev = nullptr;
  wheel_link* next = nullptr;
  void unlink() noexcept {
    if (!next) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }
  void link_before(wheel_link& head) noexcept {
    next = &head;
    prev = head.prev;
    head.prev->next = this;
    head.prev = this;
  }
};
}  // namespace detail

/// Something with at most one deadline. Destroying an armed entry disarms it.
class deadline_entry : private detail::wheel_link {
 public:
  deadline_entry() = default;
  deadline_entry(const deadline_entry&) = delete;
  deadline_entry& operator=(const deadline_entry&) = delete;
  virtual ~deadline_entry() { unlink(); }

  bool armed() const noexcept { return next != nullptr; }

 protected:
  /// Called on the wheel's thread once the deadline has passed (the entry is disarmed first).
  virtual void on_deadline() = 0;

 private:
  friend class deadline_wheel;
  std::uint64_t due_ = 0;
};

class deadline_wheel {
 public:
  /// `tick`: the resolution; `slots`: buckets (a deadline further out than slots * tick goes
  /// round the wheel again).
  explicit deadline_wheel(std::chrono::milliseconds tick, std::size_t slots = 64)
      : tick_(tick.count() > 0 ? tick : std::chrono::milliseconds(1)), heads_(slots ? slots : 1) {
    for (auto& h : heads_) h.next = h.prev = &h;
  }
  deadline_wheel(const deadline_wheel&) = delete;
  deadline_wheel& operator=(const deadline_wheel&) = delete;
  ~deadline_wheel() {
    for (auto& h : heads_)
      while (h.next != &h) h.next->unlink();
  }

  std::chrono::milliseconds resolution() const noexcept { return tick_; }

  /// (Re)arms `e` to fire `after` from now, rounded up to whole ticks (at least one).
  void arm(deadline_entry& e, std::chrono::milliseconds after) noexcept {
    e.unlink();
    auto ticks = static_cast<std::uint64_t>((after.count() + tick_.count() - 1) / tick_.count());
    e.due_ = now_ + (ticks ? ticks : 1);
    e.link_before(heads_[e.due_ % heads_.size()]);
  }
  void disarm(deadline_entry& e) noexcept { e.unlink(); }

  /// Advances one tick and fires what is due. The owner calls this every `resolution()`.
  void advance() {
    ++now_;
    detail::wheel_link& head = heads_[now_ % heads_.size()];
    if (head.next == &head) return;
    // Detach the bucket first: callbacks may arm or destroy entries (also ones in this bucket).
    detail::wheel_link due;
    due.next = head.next;
    due.prev = head.prev;
    due.next->prev = &due;
    due.prev->next = &due;
    head.next = head.prev = &head;
    while (due.next != &due) {
      auto* e = static_cast<deadline_entry*>(due.next);
      e->unlink();
      if (e->due_ > now_) {
        e->link_before(heads_[e->due_ % heads_.size()]);
        continue;
      }
      e->on_deadline();
    }
  }

 private:
  std::chrono::milliseconds tick_;
  std::vector<detail::wheel_link> heads_;
  std::uint64_t now_ = 0;
};

}  // namespace portico::net
