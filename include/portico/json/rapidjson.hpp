#pragma once
/// The one place where portico includes RapidJSON, so its build switches are set consistently.
///
/// RAPIDJSON_SSE2: RapidJSON scans strings and whitespace 16 bytes at a time when it is defined.
/// Every x86-64 CPU has SSE2 (`__SSE2__`), so it is switched on there, unless:
/// - the program already included a RapidJSON header (the include guards keep the first
///   configuration: everything still compiles and works, only without the SIMD scans; define
///   RAPIDJSON_SSE2 or RAPIDJSON_SSE42 yourself before that first include to get them);
/// - the user chose already (RAPIDJSON_SSE2 / RAPIDJSON_SSE42 defined: left as they are);
/// - AddressSanitizer or ThreadSanitizer is on: the aligned 16-byte loads may read past the end
///   of a string within its 16-byte block, which is harmless but reported as a heap overflow (or,
///   by TSan, as a read of a freed neighbour).

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2) && !defined(RAPIDJSON_SSE42) && !defined(RAPIDJSON_READER_H_)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PORTICO_RAPIDJSON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PORTICO_RAPIDJSON_ASAN 1
#endif
#endif
#ifndef PORTICO_RAPIDJSON_ASAN
#define RAPIDJSON_SSE2
#endif
#undef PORTICO_RAPIDJSON_ASAN
#endif

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
