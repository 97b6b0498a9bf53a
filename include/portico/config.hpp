#pragma once
/// Build-mode switches shared by every layer.
///
/// portico is header-only by default. Defining `PORTICO_SEPARATE_COMPILATION` project-wide (for
/// every TU that includes portico) switches to the separately compiled mode, in the spirit of
/// Asio's `ASIO_SEPARATE_COMPILATION`: the heavy fixed parts (websocketpp's endpoint, connection
/// and processors for portico's transport config, and the non-template Socket.IO server code)
/// are then compiled once, in the one TU of the program that includes <portico/impl/src.hpp>,
/// instead of in every TU (docs/compile-time.md).
///
/// `PORTICO_DECL` marks a function whose definition lives in an `impl/*.ipp` file: `inline` in
/// the header-only mode (the .ipp is included by its header), nothing in the separate mode (the
/// .ipp is compiled once by <portico/impl/src.hpp>).
#define PORTICO_CONFIG_INCLUDED 1

#if defined(PORTICO_SEPARATE_COMPILATION) && defined(PORTICO_SINGLE_HEADER)
#error "PORTICO_SEPARATE_COMPILATION needs include/ (<portico/impl/src.hpp>), not the single header"
#endif

#if defined(PORTICO_SEPARATE_COMPILATION)
#define PORTICO_HEADER_ONLY 0
#define PORTICO_DECL
#else
#define PORTICO_HEADER_ONLY 1
#define PORTICO_DECL inline
#endif

/// Whether this TU compiles the `impl/*.ipp` definitions: every TU in the header-only mode, only
/// the one that includes <portico/impl/src.hpp> (which defines PORTICO_SOURCE first) otherwise.
/// Each header includes its .ipp unconditionally and the .ipp tests this, so that the single
/// header (scripts/amalgamate) can paste it.
#if PORTICO_HEADER_ONLY || defined(PORTICO_SOURCE)
#define PORTICO_COMPILE_IMPL 1
#else
#define PORTICO_COMPILE_IMPL 0
#endif
