#pragma once
/// `using inject = portico::inject<A&, const B&, std::shared_ptr<C>, Config>;` inside a class names
/// the constructor the container calls and how each argument is requested. It wins over the
/// constructor deduction of constructor.hpp; use it for overloaded or templated constructors.

#include <type_traits>

#include "type_list.hpp"

namespace portico {

template <class... Requests>
struct inject {
  using requests = framework::detail::type_list<Requests...>;
};

namespace framework::detail {

template <class T, class = void>
struct has_inject_list : std::false_type {};
template <class T>
struct has_inject_list<T, std::void_t<typename T::inject::requests>> : std::true_type {};

}  // namespace framework::detail
}  // namespace portico
