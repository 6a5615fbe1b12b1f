// ctxlog/ctxlog.hpp — everything a service needs: the context store (context, bind,
// storage), logging, configuration and the basic sinks. The propagation adapters
// (pool.hpp, coro.hpp, asio.hpp, tbb.hpp, trace.hpp) are included on their own.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include "ctxlog/bind.hpp"
#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/field.hpp"
#include "ctxlog/flight_recorder.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sample.hpp"
#include "ctxlog/sinks/file.hpp"
#include "ctxlog/sinks/stdio.hpp"
#include "ctxlog/storage.hpp"
