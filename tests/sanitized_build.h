// Whether this test binary runs under AddressSanitizer (`make test-asan`): a few tests look
// at ASan's shadow memory, or skip what ASan forbids (allocations it refuses to attempt).
#pragma once

// GCC announces AddressSanitizer with a macro, clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define OURO_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OURO_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef OURO_TEST_UNDER_ASAN
#define OURO_TEST_UNDER_ASAN 0
#endif
