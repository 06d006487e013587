#pragma once
// Assertions stay on in every build type. A failed assertion names the seed and the step the run
// had reached, so that the failure can be replayed.
#include <cstdint>

namespace stampede {

// The context printed by a failing assertion; the engine keeps it current.
struct AssertContext {
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
};
AssertContext& assert_context();

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* why);

}  // namespace stampede

#define STAMPEDE_ASSERT(expr, why)                                   \
  do {                                                               \
    if (!(expr)) ::stampede::assert_fail(#expr, __FILE__, __LINE__, why); \
  } while (0)
