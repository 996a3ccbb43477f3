#include "http/errors.h"

namespace kissvdb::http {

std::string ShortJsonError(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    const size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  constexpr size_t kMax = 200;
  std::string out(what.substr(0, kMax));
  if (what.size() > kMax) out += "...";
  return out;
}

Response ErrorWithStatus(unsigned http_status, Code code, std::string message) {
  Response r = Response::Error(Status(code, std::move(message)));
  r.status = http_status;
  return r;
}

}  // namespace kissvdb::http
