// src/propagation/http.cpp — the cpp-httplib middleware (ctxlog/httplib.hpp). Being written.
#include "ctxlog/httplib.hpp"
