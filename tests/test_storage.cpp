// storage<T>: independent typed stores with defaults, require(), exit and disable.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include "ctxlog/context.hpp"

namespace {
struct principal {
  std::string name;
  int level = 0;
};
struct transaction {
  int id;
  std::shared_ptr<int> statements = std::make_shared<int>(0);
};
}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("get() outside any run gives nullptr, or the default") {
    ctxlog::storage<principal> auth;
    ctxlog::storage<int> quota{{.name = "quota", .default_value = 10}};
    CHECK(auth.get() == nullptr);
    REQUIRE(quota.get() != nullptr);
    CHECK(*quota.get() == 10);
    CHECK(quota.require() == 10);
  }

  TEST_CASE("require() outside any run throws a clear missing_context") {
    ctxlog::storage<transaction> tx{{.name = "db.tx"}};
    try {
      (void)tx.require();
      FAIL("require() did not throw");
    } catch (const ctxlog::missing_context& e) {
      CHECK(std::string(e.what()).find("db.tx") != std::string::npos);
    }
  }

  TEST_CASE("independent stores do not see each other, and ride with the fields") {
    ctxlog::storage<principal> auth;
    ctxlog::storage<transaction> tx;
    ctxlog::run(ctxlog::fields{}.request_id("r"), [&] {
      auth.run(principal{"alice", 3}, [&] {
        CHECK(tx.get() == nullptr);
        tx.run(transaction{17}, [&] {
          CHECK(auth.require().name == "alice");
          CHECK(tx.require().id == 17);
          CHECK(ctxlog::current().request_id() == "r");
          auth.run(principal{"bob", 1}, [&] {
            CHECK(auth.require().name == "bob");
            CHECK(tx.require().id == 17);
          });
          CHECK(auth.require().name == "alice");
        });
        CHECK(tx.get() == nullptr);
      });
    });
    CHECK(auth.get() == nullptr);
  }

  TEST_CASE("a captured context carries every store to another thread") {
    ctxlog::storage<transaction> tx;
    ctxlog::context captured;
    std::shared_ptr<int> counter;
    tx.run(transaction{5}, [&] {
      captured = ctxlog::snapshot();
      counter = tx.require().statements;
    });
    std::thread([&] {
      ctxlog::run(captured, [&] {
        ++*tx.require().statements;  // the handle is shared; the stored value is const
        CHECK(tx.require().id == 5);
      });
      CHECK(tx.get() == nullptr);
    }).join();
    CHECK(*counter == 1);
  }

  TEST_CASE("values are destroyed when the last context holding them goes") {
    ctxlog::storage<std::shared_ptr<int>> s;
    auto p = std::make_shared<int>(1);
    std::weak_ptr<int> w = p;
    ctxlog::context kept;
    s.run(std::move(p), [&] { kept = ctxlog::snapshot(); });
    CHECK_FALSE(w.expired());
    kept = ctxlog::context();
    CHECK(w.expired());
  }

  TEST_CASE("exit hides only this store") {
    ctxlog::storage<int> a{{.name = "a", .default_value = -1}};
    ctxlog::storage<int> b;
    a.run(1, [&] {
      b.run(2, [&] {
        a.exit([&] {
          CHECK(*a.get() == -1);
          CHECK(*b.get() == 2);
        });
        CHECK(*a.get() == 1);
      });
    });
  }

  TEST_CASE("enter_with stores the value for the rest of the run") {
    ctxlog::storage<std::string> s;
    ctxlog::run(ctxlog::fields{}.request_id("r"), [&] {
      s.enter_with("entered");
      CHECK(*s.get() == "entered");
      CHECK(ctxlog::current().request_id() == "r");
    });
    CHECK(s.get() == nullptr);
  }

  TEST_CASE("disable makes get() give the default until the next run") {
    ctxlog::storage<int> s{{.name = "s", .default_value = 0}};
    s.run(5, [&] {
      s.disable();
      CHECK(*s.get() == 0);
      s.run(6, [&] { CHECK(*s.get() == 6); });
    });
  }

  TEST_CASE("a store survives the ambient disable()/run cycle independently") {
    ctxlog::storage<int> s;
    s.run(3, [&] {
      CHECK(*s.get() == 3);
      ctxlog::exit([&] { CHECK(s.get() == nullptr); });
      CHECK(*s.get() == 3);
    });
  }
}
