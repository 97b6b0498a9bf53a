#pragma once
/// portico::json: payload types, typed mapping (PORTICO_FIELDS, adapter<T>), decoding with
/// pydantic-style error lists, encoding straight into the output string. See docs/json.md.

#include "value.hpp"
#include "errors.hpp"
#include "fields.hpp"
#include "dom.hpp"
#include "raw.hpp"
#include "decode.hpp"
#include "encode.hpp"
#include "error_format.hpp"
