#pragma once
/// Compile-time diagnostics of the DI container.
///
/// A static_assert message is a plain string literal, so it cannot name the offending type; GCC
/// does not print the asserted expression either. Instead every misuse asks for a member type
/// that does not exist in a template named after the problem and instantiated with the types
/// involved. Both GCC and Clang then print ONE first error line that carries the type and the fix:
///
///   error: no type named 'add_it_to_portico_providers_of_the_module_or_import_a_module_that_exports_it'
///          in 'portico::portico_error_no_provider_for<AuthService>'
///
/// The raising function never returns, so the caller's code stays well-formed and no error
/// cascades from the failed resolution.

#include <stdexcept>

/// Declares the diagnostic template `name<T...>` and `portico::framework::detail::raise_<name><R, T...>()`.
/// The error is raised inside a static member function of a class template: compilers then
/// report it once per distinct set of types, however many call sites (and return types) reach it.
#define PORTICO_DI_DIAGNOSTIC(name, fix)                                             \
  namespace portico {                                                               \
  template <class... T>                                                             \
  struct name {};                                                                   \
  }                                                                                 \
  namespace portico::framework::detail {                                            \
  template <class... T>                                                             \
  struct report_##name {                                                            \
    [[noreturn]] static void now() {                                                \
      static_cast<void>(static_cast<typename ::portico::name<T...>::fix*>(nullptr)); \
      throw std::logic_error("unreachable: " #name);                               \
    }                                                                               \
  };                                                                                \
  template <class R, class... T>                                                    \
  [[noreturn]] R raise_##name() {                                                   \
    report_##name<T...>::now();                                                     \
  }                                                                                 \
  }

PORTICO_DI_DIAGNOSTIC(portico_error_no_provider_for,
                      add_it_to_portico_providers_of_the_module_or_import_a_module_that_exports_it)
PORTICO_DI_DIAGNOSTIC(portico_error_provider_not_exported,
                      add_it_to_portico_exports_of_that_module_to_make_it_visible_to_importers)
PORTICO_DI_DIAGNOSTIC(portico_error_dependency_cycle,
                      break_the_cycle_one_of_these_types_must_stop_injecting_the_next)
PORTICO_DI_DIAGNOSTIC(portico_error_ambiguous_constructor_of,
                      declare_using_inject_equals_portico_inject_of_the_parameters_to_use_inside_the_class)
PORTICO_DI_DIAGNOSTIC(portico_error_cannot_deduce_constructor_of,
                      declare_using_inject_equals_portico_inject_of_its_parameters_inside_the_class)
PORTICO_DI_DIAGNOSTIC(portico_error_inject_list_does_not_match_a_constructor_of,
                      make_its_using_inject_list_match_the_constructor_parameters)
PORTICO_DI_DIAGNOSTIC(portico_error_cannot_inject_constructor_of,
                      inject_transient_providers_by_value_or_std_shared_ptr_never_by_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_abstract_provider,
                      bind_it_to_an_implementation_with_portico_bind_of_interface_and_implementation)
PORTICO_DI_DIAGNOSTIC(portico_error_bind_implementation_does_not_derive_from_interface,
                      make_the_implementation_derive_publicly_from_the_interface)
PORTICO_DI_DIAGNOSTIC(portico_error_transient_injected_by_reference,
                      inject_it_by_value_or_as_std_shared_ptr_or_std_unique_ptr)
PORTICO_DI_DIAGNOSTIC(portico_error_unique_ptr_of_shared_instance,
                      inject_a_reference_or_std_shared_ptr_or_make_the_provider_portico_transient)
PORTICO_DI_DIAGNOSTIC(portico_error_singleton_depends_on_per_connection,
                      make_the_dependent_portico_per_connection_too_or_inject_something_connection_independent)
PORTICO_DI_DIAGNOSTIC(portico_error_used_without_connection_depends_on_per_connection,
                      it_runs_with_no_connection_scope_eg_an_http_guard_so_inject_singletons_or_transients_only)
PORTICO_DI_DIAGNOSTIC(portico_error_factory_result_is_not,
                      return_the_type_or_a_std_unique_ptr_or_std_shared_ptr_of_it_from_the_factory)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_value_provider,
                      declare_it_as_portico_value_in_the_providers_of_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_nothing_to_replace_for,
                      replace_only_singleton_or_value_providers_declared_in_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_component,
                      add_it_to_portico_gateways_or_portico_controllers_of_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_guard_without_can_activate,
                      declare_bool_can_activate_taking_the_execution_context_by_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_override_matches_no_provider,
                      override_only_keys_that_a_module_of_the_graph_provides)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_module_part,
                      use_portico_providers_controllers_gateways_imports_or_exports)
