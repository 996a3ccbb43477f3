#include "http/url.h"

namespace kissvdb::http {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  const size_t hash = target.find('#');
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    *path = target;
    *query = {};
  } else {
    *path = target.substr(0, q);
    *query = target.substr(q + 1);
  }
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  // Fast path: nothing to decode.
  if (in.find('%') == std::string_view::npos &&
      (!plus_is_space || in.find('+') == std::string_view::npos)) {
    out->append(in);
    return true;
  }
  out->reserve(out->size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool ParseQuery(std::string_view query, std::map<std::string, std::string>* out) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!PercentDecode(pair.substr(0, eq), true, &name)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &value)) {
      return false;
    }
    (*out)[std::move(name)] = std::move(value);
  }
  return true;
}

}  // namespace kissvdb::http
