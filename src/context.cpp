// src/context.cpp — frames and the per-thread current context.
//
// derive() builds a new immutable frame in one allocation (header, views, slots, bytes)
// from a parent and a set of overrides. Frames are flat: a frame never points at its
// parent, so a long-lived thread that keeps calling enter_with() does not grow a chain.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

struct fields_access {
  static std::uint8_t mask(const fields& f) noexcept { return f.mask_; }
  static std::string_view known(const fields& f, std::size_t i) noexcept { return f.known_[i]; }
  static const std::vector<kv_view>& custom(const fields& f) noexcept { return f.custom_; }
};

std::atomic<bool> g_disabled{false};

namespace {

std::atomic<std::uint64_t> g_next_frame_id{1};

// Frame ids come from per-thread blocks, so making a frame takes no locked instruction.
constexpr std::uint64_t k_id_block = 1 << 16;
constinit thread_local std::uint64_t t_next_id = 0, t_id_end = 0;
std::uint64_t next_frame_id() noexcept {
  if (t_next_id == t_id_end) {
    t_next_id = g_next_frame_id.fetch_add(k_id_block, std::memory_order_relaxed);
    t_id_end = t_next_id + k_id_block;
  }
  return t_next_id++;
}

// Most frames fit a block of the standard size; each thread keeps one freed block to
// reuse, so a run() in a loop does not go to malloc at all.
constexpr std::size_t k_standard_block = 512;
// Plain (trivially destructible) thread_locals stay usable during thread exit, whatever
// the order other thread_locals (t_current among them) are destroyed in.
constinit thread_local void* t_spare = nullptr;
constinit thread_local bool t_spare_closed = false;
struct spare_reaper {
  ~spare_reaper() {
    ::operator delete(t_spare);
    t_spare = nullptr;
    t_spare_closed = true;
  }
};
thread_local spare_reaper t_spare_reaper;

void* allocate_block(std::size_t n, std::uint32_t& block) {
  if (n > k_standard_block) {
    block = static_cast<std::uint32_t>(n);
    return ::operator new(n);
  }
  block = 0;
  if (void* b = std::exchange(t_spare, nullptr)) return b;
  return ::operator new(k_standard_block);
}

// Under AddressSanitizer a freed frame goes back to the allocator at once (and into ASan's
// quarantine), never to the spare: a string_view kept past its frame's life (say from
// current().request_id() after the run() ended) is then reported as a heap use after
// free instead of silently reading the next request's bytes from the reused block.
constexpr bool k_reuse_blocks = !CTXLOG_DETAIL_ASAN;

void free_block(void* p, std::uint32_t block) noexcept {
  if (k_reuse_blocks && block == 0 && !t_spare && !t_spare_closed) {
    (void)&t_spare_reaper;  // registers the reaper that frees the spare at thread exit
    t_spare = p;
    return;
  }
  ::operator delete(p);
}

std::atomic<std::uint32_t> g_next_store_id{1};

// The thread's current context. Its holder has a destructor (it releases the frame when
// the thread exits), so each access to it goes through the compiler's first-use guard,
// which registers that destructor; t_slot, a plain pointer set on the first access, lets
// every later access skip the guard: current_slot() is then two instructions.
// constinit: no dynamic initialisation, so the slot is usable from any static initialiser.
struct current_holder {
  thread_context t;
  ~current_holder() {
    reinstate(t, {});  // leaves an empty context for later readers
    delete t.parked;   // empty: filled only inside borrowing calls, which have all ended
  }
};
constinit thread_local current_holder t_current;
}  // namespace

constinit thread_local thread_context* t_slot = nullptr;
[[gnu::noinline]] thread_context& first_slot() noexcept {
  t_slot = &t_current.t;
  return *t_slot;
}

namespace {
const context k_empty;

constexpr std::size_t align_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) / a * a; }

int well_known_index(std::string_view key) noexcept {
  for (std::size_t i = 0; i < well_known_count; ++i)
    if (well_known_names[i] == key) return static_cast<int>(i);
  return -1;
}

// The value that the overrides give key, if they name it (the last one wins).
const kv_view* find_override(const std::vector<kv_view>& overrides, std::string_view key) noexcept {
  const kv_view* hit = nullptr;
  for (const auto& kv : overrides)
    if (kv.key == key) hit = &kv;
  return hit;
}

}  // namespace

// Defined whatever the compiler building the library: clang-compiled code calls it from
// its inline current_slot(), also when this file was compiled by g++ (whose own inline
// current_slot() never needs an out-of-line copy).
thread_context& current_slot_outlined() noexcept {
  if (thread_context* s = t_slot) [[likely]]
    return *s;
  return first_slot();
}

namespace {
// The outermost recorded borrowing call of f on this thread, or -1.
int outermost_borrow(const thread_context& t, const frame* f) noexcept {
  const std::uint32_t n = std::min(t.depth, thread_context::recorded);
  for (std::uint32_t i = 0; i < n; ++i)
    if ((t.borrowed[i] & ~std::uintptr_t{1}) == reinterpret_cast<std::uintptr_t>(f)) return static_cast<int>(i);
  return -1;
}
}  // namespace

bool borrowed_here(const frame* f) noexcept {
  const thread_context& t = current_slot();
  // Beyond the recorded depth nothing is known: assume so (a move then copies).
  return outermost_borrow(t, f) >= 0 || t.depth > thread_context::recorded;
}

void release_lent(frame* f) noexcept {
  thread_context& t = current_slot();
  // Is a call on this thread borrowing f (its holder is being destroyed from inside its
  // own call)? Then the outermost such call, which ends last, takes over the reference
  // (once: should it hold one already, this one can go).
  if (const int i = outermost_borrow(t, f); i >= 0) {
    if ((t.borrowed[i] & 1) == 0) {
      t.borrowed[i] |= 1;
      return;
    }
  } else if (t.depth > thread_context::recorded) {
    // Deep inside unrecorded calls: kept until the depth is back to `recorded`. Should
    // even the list fail to grow, the reference is kept for ever: a leak, never a use
    // after free.
    try {
      if (!t.parked) t.parked = new std::vector<frame*>();
      t.parked->push_back(f);
    } catch (...) {
    }
    return;
  }
  release(f);
}

void release_borrowed(std::uint32_t depth) noexcept {
  thread_context& t = current_slot();
  if (depth < thread_context::recorded) {
    const std::uintptr_t b = std::exchange(t.borrowed[depth], 0);
    release(reinterpret_cast<frame*>(b & ~std::uintptr_t{1}));
    return;
  }
  if (std::vector<frame*>* list = std::exchange(t.parked, nullptr)) {
    // Taken out first: releasing runs storage<T> destructors, which may bind again.
    for (frame* f : *list) release(f);
    delete list;
  }
}

const frame* current_frame() noexcept {
  return g_disabled.load(std::memory_order_relaxed) ? nullptr : current_slot().ctx.frame_ptr();
}

std::uint32_t new_store_id() noexcept { return g_next_store_id.fetch_add(1, std::memory_order_relaxed); }

const value_box* find_slot(const frame* f, std::uint32_t store) noexcept {
  if (!f) return nullptr;
  for (std::uint32_t i = 0; i < f->n_slots; ++i)
    if (f->slots[i].store == store) return f->slots[i].box;
  return nullptr;
}

void destroy_frame(frame* f) noexcept {
  for (std::uint32_t i = 0; i < f->n_slots; ++i) release(f->slots[i].box);
  const std::uint32_t block = f->block;
  f->~frame();
  free_block(f, block);
}

context derive(const context& parent, const fields* f, const slot* s) {
  const frame* p = parent.frame_ptr();
  if ((!f || f->empty()) && !s) return parent;

  static const std::vector<kv_view> no_overrides;
  const auto& overrides = f ? fields_access::custom(*f) : no_overrides;
  const std::uint8_t mask = f ? fields_access::mask(*f) : 0;
  const std::uint32_t p_custom = p ? p->n_custom : 0;
  const std::uint32_t p_slots = p ? p->n_slots : 0;

  // Pass 1: what the new frame holds, and an upper bound of its size.
  std::size_t inherited = 0, added = 0;
  for (std::size_t i = 0; i < well_known_count; ++i) {
    if ((mask >> i) & 1u) added += fields_access::known(*f, i).size();
    else if (p) inherited += p->well_known[i].size();
  }
  for (std::uint32_t i = 0; i < p_custom; ++i) inherited += p->custom[i].key.size() + p->custom[i].value.size();
  for (const auto& kv : overrides) added += kv.key.size() + kv.value.size();
  // Inherited bytes are copied in one piece (views re-based) unless the parent's bytes
  // hold much that is dead (overridden fields): then field by field, which compacts.
  const bool bulk = p && p->n_bytes <= 2 * inherited + 128;
  const std::size_t bytes = (bulk ? p->n_bytes : inherited) + added;
  const std::size_t max_custom = p_custom + overrides.size();
  const std::size_t max_slots = p_slots + (s ? 1 : 0);

  const std::size_t custom_at = align_up(sizeof(frame), alignof(kv_view));
  const std::size_t slots_at = align_up(custom_at + max_custom * sizeof(kv_view), alignof(slot));
  const std::size_t bytes_at = slots_at + max_slots * sizeof(slot);
  std::uint32_t block = 0;
  char* const base = static_cast<char*>(allocate_block(bytes_at + bytes, block));

  auto* fr = new (base) frame;  // not frame{}: every member is set below
  fr->block = block;
  auto* custom = reinterpret_cast<kv_view*>(base + custom_at);
  auto* slots = reinterpret_cast<slot*>(base + slots_at);
  char* const area = base + bytes_at;
  char* out = area;
  auto copy = [&out](std::string_view sv) noexcept {
    if (sv.empty()) return std::string_view();
    std::memcpy(out, sv.data(), sv.size());
    std::string_view r(out, sv.size());
    out += sv.size();
    return r;
  };
  if (bulk) {
    std::memcpy(out, p->bytes, p->n_bytes);
    out += p->n_bytes;
  }
  auto inherit = [&](std::string_view sv) noexcept {
    if (!bulk || sv.empty()) return copy(sv);
    return std::string_view(area + (sv.data() - p->bytes), sv.size());
  };

  // Pass 2: fill it. Inherited custom fields keep their order; overrides replace them in
  // place, new keys are appended, and an empty value removes the key.
  bool any = false;
  for (std::size_t i = 0; i < well_known_count; ++i) {
    fr->well_known[i] = (mask >> i) & 1u ? copy(fields_access::known(*f, i)) : p ? inherit(p->well_known[i])
                                                                                : std::string_view();
    any |= !fr->well_known[i].empty();
  }
  std::uint32_t nc = 0;
  for (std::uint32_t i = 0; i < p_custom; ++i) {
    const kv_view* o = find_override(overrides, p->custom[i].key);
    if (o && o->value.empty()) continue;
    custom[nc++] = {inherit(p->custom[i].key), o ? copy(o->value) : inherit(p->custom[i].value)};
  }
  for (std::size_t j = 0; j < overrides.size(); ++j) {
    const kv_view& kv = overrides[j];
    if (find_override(overrides, kv.key) != &kv) continue;  // a later duplicate wins
    bool inherited = false;
    for (std::uint32_t i = 0; i < p_custom && !inherited; ++i) inherited = p->custom[i].key == kv.key;
    if (!inherited && !kv.value.empty()) custom[nc++] = {copy(kv.key), copy(kv.value)};
  }
  std::uint32_t ns = 0;
  bool placed = false;
  for (std::uint32_t i = 0; i < p_slots; ++i) {
    slot sl = p->slots[i];
    if (s && sl.store == s->store) {
      sl.box = s->box;
      placed = true;
    }
    if (sl.box) slots[ns++] = sl;
  }
  if (s && !placed && s->box) slots[ns++] = *s;
  for (std::uint32_t i = 0; i < ns; ++i) retain(slots[i].box);

  fr->bytes = area;
  fr->n_bytes = static_cast<std::uint32_t>(out - area);
  fr->n_custom = nc;
  fr->n_slots = ns;
  fr->custom = custom;
  fr->slots = slots;
  if (!any && nc == 0 && ns == 0) {
    destroy_frame(fr);
    return context();
  }
  fr->refs.store(1, std::memory_order_relaxed);
  fr->id = next_frame_id();
  return context::adopt(fr);
}

}  // namespace detail

std::string_view fields::keep(std::string&& s) {
  if (!kept_) kept_ = std::make_shared<std::forward_list<std::string>>();
  return kept_->emplace_front(std::move(s));
}

fields& fields::set_view(std::string_view key, std::string_view value) {
  const int i = detail::well_known_index(key);
  if (i >= 0) return known(static_cast<detail::well_known>(i), value);
  custom_.push_back({key, value});
  return *this;
}

std::string_view context::get(std::string_view key) const noexcept {
  if (!f_) return {};
  const int i = detail::well_known_index(key);
  if (i >= 0) return f_->well_known[i];
  for (std::uint32_t j = 0; j < f_->n_custom; ++j)
    if (f_->custom[j].key == key) return f_->custom[j].value;
  return {};
}

const context& current() noexcept {
  return detail::g_disabled.load(std::memory_order_relaxed) ? detail::k_empty : detail::current_slot().ctx;
}

void disable() noexcept {
  detail::g_disabled.store(true, std::memory_order_relaxed);
  detail::reinstate(detail::current_slot(), {});
}

}  // namespace v1
}  // namespace ctxlog
