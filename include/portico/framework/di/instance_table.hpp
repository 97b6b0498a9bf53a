#pragma once
/// Storage of created instances, type-erased by slot number (slot numbers are computed at compile
/// time by the container). Instances are destroyed in the reverse order of their creation, so an
/// instance never outlives what it was constructed with.

#include <cstddef>
#include <memory>
#include <vector>

namespace portico::framework::detail {

class instance_table {
 public:
  instance_table() = default;
  instance_table(const instance_table&) = delete;
  instance_table& operator=(const instance_table&) = delete;
  ~instance_table() { clear(); }

  const std::shared_ptr<void>* find(std::size_t slot) const noexcept {
    return slot < slots_.size() && slots_[slot] ? &slots_[slot] : nullptr;
  }

  void put(std::size_t slot, std::shared_ptr<void> instance) {
    if (slot >= slots_.size()) slots_.resize(slot + 1);
    slots_[slot] = std::move(instance);
    order_.push_back(slot);
  }

  std::size_t live() const noexcept { return order_.size(); }

  void clear() noexcept {
    while (!order_.empty()) {
      std::size_t slot = order_.back();
      order_.pop_back();
      // Move out first: a destructor that looks the table up again sees a consistent state.
      std::shared_ptr<void> doomed = std::move(slots_[slot]);
      doomed.reset();
    }
    slots_.clear();
  }

 private:
  std::vector<std::shared_ptr<void>> slots_;
  std::vector<std::size_t> order_;
};

}  // namespace portico::framework::detail
