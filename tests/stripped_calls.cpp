// Built with CTXLOG_ACTIVE_LEVEL = 3 (warn): the info and debug calls must vanish.
#define CTXLOG_ACTIVE_LEVEL 3
#include "ctxlog/log.hpp"

int log_stripped_calls(int& evaluations) {
  int calls = 0;
  LOG_DEBUG("{}", ++evaluations);
  LOG_INFO("{}", ++evaluations);
  LOG_WARN("{}", (++calls, ++evaluations));
  return calls;
}
