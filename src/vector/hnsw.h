// The one place KissVDB includes hnswlib (0.8.0, fetched by
// scripts/setup.sh into third_party/).
#pragma once

// hnswlib's SSE prefetch reads one link past the end of a full upper-layer
// list: within glibc's malloc slack, so harmless, but AddressSanitizer
// reports it. Sanitizer builds take hnswlib's portable (non-SIMD) path.
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
#include <hnswlib/hnswlib.h>
