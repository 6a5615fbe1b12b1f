// src/flight_store.cpp — kept lines per recorded request (flight_store.hpp).
#include "flight_store.hpp"

#include <cstring>
#include <new>
#include <string_view>

#include "ctxlog/detail/codec.hpp"
#include "ctxlog/detail/record.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr std::string_view k_replayed = "replayed";
// The field appended to a kept record: [key]["boolean" tag][1].
constexpr std::size_t k_replayed_bytes = sizeof(std::uint32_t) + k_replayed.size() + 2;

}  // namespace

void flight_store::start(std::uint64_t id, const recorder_info* info) {
  request& r = requests_[id];
  if (info) r.max_lines = info->max_lines;
}

void flight_store::forget(request& r) noexcept {
  for (const kept& k : r.lines) bytes_ -= k.bytes;
  held.fetch_sub(r.lines.size(), std::memory_order_relaxed);
  discarded.fetch_add(r.lines.size(), std::memory_order_relaxed);
  r.lines.clear();
}

void flight_store::end(std::uint64_t id) noexcept {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  forget(it->second);
  requests_.erase(it);
}

bool flight_store::triggered(std::uint64_t id) const noexcept {
  const auto it = requests_.find(id);
  return it != requests_.end() && it->second.triggered;
}

void flight_store::keep(std::uint64_t id, const std::byte* record, std::size_t bytes, const context& ctx, bool lost,
                        std::uint32_t thread) {
  const auto it = requests_.find(id);
  const std::size_t size = bytes + k_replayed_bytes;
  if (it == requests_.end() || it->second.max_lines == 0 || size > limit_) {
    discarded.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  request& r = it->second;
  // Room: the oldest line of this request first, then nothing more (the total limit).
  while (!r.lines.empty() && (r.lines.size() >= r.max_lines || bytes_ + size > limit_)) {
    bytes_ -= r.lines.front().bytes;
    r.lines.pop_front();
    held.fetch_sub(1, std::memory_order_relaxed);
    discarded.fetch_add(1, std::memory_order_relaxed);
  }
  if (bytes_ + size > limit_) {  // other requests hold the rest
    discarded.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto copy = std::unique_ptr<std::byte[]>(new (std::nothrow) std::byte[size]);
  if (!copy) {
    discarded.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::memcpy(copy.get(), record, bytes);
  record_header h;
  std::memcpy(&h, record, sizeof h);
  std::byte* p = encode(copy.get() + bytes, k_replayed);
  *p++ = static_cast<std::byte>(kv_tag::boolean);
  *p = std::byte{1};
  h.args_size += static_cast<std::uint32_t>(k_replayed_bytes);
  h.kind = static_cast<std::uint32_t>(record_kind::line);
  std::memcpy(copy.get(), &h, sizeof h);
  try {
    r.lines.push_back({std::move(copy), size, ctx, lost, thread});
  } catch (...) {
    discarded.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bytes_ += size;
  held.fetch_add(1, std::memory_order_relaxed);
}

void flight_store::clear() noexcept {
  for (auto& [id, r] : requests_) forget(r);
  requests_.clear();
  bytes_ = 0;
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
