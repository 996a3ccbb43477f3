// Random tokens from the kernel's CSPRNG (getrandom(2)).
#pragma once

#include <cstddef>
#include <string>

#include "kissvdb/status.h"

namespace kissvdb::random_util {

// `bytes` random bytes as 2*bytes lowercase hex digits.
Result<std::string> RandomHex(size_t bytes);

}  // namespace kissvdb::random_util
