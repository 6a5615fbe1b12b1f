// src/layouts/console.hpp — what the sink router asks of the console layout.
#pragma once

#include "ctxlog/layout.hpp"
#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// The layout to use for sink s when configure() installs it: for a console layout with
// console_color::automatic, its coloured twin when s writes to a terminal and NO_COLOR is
// unset or empty; l itself otherwise (and for every other layout).
layout_ptr layout_for_sink(const layout_ptr& l, const sink& s);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
