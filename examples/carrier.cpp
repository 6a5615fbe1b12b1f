// examples/carrier.cpp — handing the context to another process through message headers.
//
// The producer injects its context into a string map (as it would into message or HTTP
// headers); the consumer, which shares no memory with it, extracts a context from the
// map and logs in it: same requestId, tenantId and traceId, the producer's span as
// parentSpanId and a new spanId of its own.
// Expected output:
//   {"msg":"publishing","requestId":"r-9","tenantId":"acme","traceId":"4bf9...","spanId":"00f0...",...}
//   headers: baggage=tenantId=acme traceparent=00-4bf9...-00f0...-01 x-request-id=r-9
// (a real producer would send each message from a span of its own: span.hpp)
//   {"msg":"consuming","requestId":"r-9","tenantId":"acme","traceId":"4bf9...","spanId":"<new>","parentSpanId":"00f0...",...}
#include <cstdio>
#include <map>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/trace.hpp"

using headers = std::map<std::string, std::string>;

headers produce() {
  headers h;
  ctxlog::run(ctxlog::fields{}
                  .request_id("r-9")
                  .tenant_id("acme")
                  .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                  .span_id("00f067aa0ba902b7"),
              [&] {
                LOG_INFO("publishing");
                ctxlog::inject(h);
              });
  return h;
}

void consume(const headers& h) {
  ctxlog::run(ctxlog::extract(h), [] { LOG_INFO("consuming"); });
}

int main() {
  const headers h = produce();
  ctxlog::flush();
  std::printf("headers:");
  for (const auto& [k, v] : h) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  std::fflush(stdout);
  consume(h);
  ctxlog::flush();
}
