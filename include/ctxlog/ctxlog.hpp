// ctxlog/ctxlog.hpp — everything a service needs: context, logging, configuration and the
// basic sinks.
#pragma once

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/file.hpp"
#include "ctxlog/sinks/stdio.hpp"
