// ctxlog/storage.hpp — typed stores riding on the ambient context: storage<T>, each like
// one AsyncLocalStorage instance, and missing_context, which require() throws.
//
// A store's values live in context frames, so they travel with every snapshot, bound
// call and adapter hand-off. Part of the context store; knows nothing about logging.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {

// Thrown by storage<T>::require() when no value is in scope and there is no default.
class missing_context : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// An independent typed store riding on the ambient context, like one
// AsyncLocalStorage instance: a DB transaction, an auth principal, a deadline. Any number
// of stores may exist; each has its own run / get / enter_with / exit / disable and an
// optional default. Values are immutable once stored (get() returns const T*): store a
// pointer or handle when the object itself must change. Thread-safe.
//
// Example:
//   ctxlog::storage<principal> auth{{.name = "auth"}};
//   auth.run(principal{"alice"}, [] { handle(); });
//   ... deep inside handle(): const principal& p = auth.require();
template <class T>
class storage {
 public:
  struct options {
    std::string name{};              // used in require()'s error message
    std::optional<T> default_value{};  // what get()/require() give outside any run
  };

  storage() : id_(detail::new_store_id()) {}
  explicit storage(options o)
      : id_(detail::new_store_id()), name_(std::move(o.name)), default_(std::move(o.default_value)) {}
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;

  // The value in scope on this thread, else the default, else nullptr. The pointer stays
  // valid while the run() that stored the value is active (or a captured context holds it).
  const T* get() const noexcept {
    if (!disabled_.load(std::memory_order_relaxed)) {
      if (auto* b = detail::find_slot(detail::current_frame(), id_))
        return &static_cast<const detail::typed_box<T>*>(b)->value;
    }
    return default_ ? &*default_ : nullptr;
  }

  // The value in scope or the default; throws missing_context when there is neither.
  const T& require() const {
    if (const T* v = get()) return *v;
    throw missing_context("ctxlog::storage '" + (name_.empty() ? std::string("<unnamed>") : name_) +
                          "': require() called outside any run() of this store, and it has no default");
  }

  // Runs fn with value stored (and every other store and field kept); returns fn's result.
  template <class F>
  decltype(auto) run(T value, F&& fn) {
    scope s(with_value(std::move(value)));
    return std::invoke(std::forward<F>(fn));
  }

  // Stores value for the rest of this thread's current context (see ctxlog::enter_with
  // for the risks).
  void enter_with(T value) { ctxlog::enter_with(with_value(std::move(value))); }

  // Runs fn with this store empty (get() gives the default); other stores are kept.
  template <class F>
  decltype(auto) exit(F&& fn) {
    const detail::slot s{id_, nullptr};
    scope sc(detail::derive(current(), nullptr, &s));
    return std::invoke(std::forward<F>(fn));
  }

  // Like AsyncLocalStorage.disable(): get() gives the default on every thread until the
  // next run()/enter_with() of this store.
  void disable() noexcept { disabled_.store(true, std::memory_order_relaxed); }

  const std::string& name() const noexcept { return name_; }

  // The value c carries, else the default, else nullptr: for a context that is not the
  // current one (a snapshot, a context about to be sent elsewhere). Valid while c lives.
  const T* get(const context& c) const noexcept {
    if (!disabled_.load(std::memory_order_relaxed)) {
      if (auto* b = detail::find_slot(c.frame_ptr(), id_)) return &static_cast<const detail::typed_box<T>*>(b)->value;
    }
    return default_ ? &*default_ : nullptr;
  }

  // c with this store set to value (c itself is unchanged), to run or hand on later.
  //
  // Example:
  //   ctxlog::context job = tx_store.with(ctxlog::snapshot(), tx);
  //   pool.submit([job] { job.run(work); });
  context with(const context& c, T value) { return with_value(std::move(value), c); }

 private:
  context with_value(T&& value) { return with_value(std::move(value), current()); }
  context with_value(T&& value, const context& base) {
    auto* box = new detail::typed_box<T>(std::move(value));
    const detail::slot s{id_, box};
    context c;
    try {
      c = detail::derive(base, nullptr, &s);
    } catch (...) {
      detail::release(box);
      throw;
    }
    detail::release(box);  // the frame holds its own reference now
    disabled_.store(false, std::memory_order_relaxed);
    return c;
  }

  const std::uint32_t id_;
  const std::string name_;
  const std::optional<T> default_;
  std::atomic<bool> disabled_{false};
};

}  // namespace v1
}  // namespace ctxlog
