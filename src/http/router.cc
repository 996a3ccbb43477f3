#include "http/router.h"

#include <boost/container/small_vector.hpp>

#include "http/url.h"

namespace kissvdb::http {

namespace {

using Segments = boost::container::small_vector<std::string_view, 12>;

// "/v1/state/x" -> {"v1", "state", "x"}; "/" -> {""}.
void SplitPath(std::string_view path, Segments* out) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out->push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

bool IsCapture(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool LiteralMatches(std::string_view literal, std::string_view raw) {
  if (raw == literal) return true;
  if (raw.find('%') == std::string_view::npos) return false;
  std::string decoded;
  return PercentDecode(raw, false, &decoded) && decoded == literal;
}

}  // namespace

void Router::Add(Verb method, std::string pattern, RouteInfo info, Handler handler) {
  Route route;
  route.method = method;
  Segments parts;
  SplitPath(pattern, &parts);
  for (std::string_view part : parts) route.segments.emplace_back(part);
  route.info = std::move(info);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Verb method, std::string_view path) const {
  Segments segments;
  SplitPath(path, &segments);

  // Does `route` match the path? Captures must be non-empty.
  auto matches = [&segments](const Route& route) {
    if (route.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& pat = route.segments[i];
      if (IsCapture(pat)) {
        if (segments[i].empty()) return false;
      } else if (!LiteralMatches(pat, segments[i])) {
        return false;
      }
    }
    return true;
  };
  // Is `a` more specific than `b`? The first segment where one is literal
  // and the other a capture decides.
  auto more_specific = [](const Route& a, const Route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      const bool ca = IsCapture(a.segments[i]);
      const bool cb = IsCapture(b.segments[i]);
      if (ca != cb) return !ca;
    }
    return false;
  };

  Match match;
  const Route* best = nullptr;
  size_t best_index = 0;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& route = routes_[i];
    if (route.method != method || !matches(route)) continue;
    if (best == nullptr || more_specific(route, *best)) {
      best = &route;
      best_index = i;
    }
  }

  if (best != nullptr) {
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& pat = best->segments[i];
      if (!IsCapture(pat)) continue;
      std::string value;
      if (!PercentDecode(segments[i], false, &value)) return match;  // kNotFound
      match.params.emplace(pat.substr(1, pat.size() - 2), std::move(value));
    }
    match.kind = Match::kFound;
    match.info = &best->info;
    match.handler = &best->handler;
    match.route_index = best_index;
    return match;
  }

  // No route for this method: 405 if another method has one.
  for (const Route& route : routes_) {
    if (!matches(route)) continue;
    const std::string_view name = boost::beast::http::to_string(route.method);
    bool listed = false;
    for (size_t pos = 0; pos < match.allow.size();) {
      size_t end = match.allow.find(", ", pos);
      if (end == std::string::npos) end = match.allow.size();
      if (std::string_view(match.allow).substr(pos, end - pos) == name) listed = true;
      pos = end + 2;
    }
    if (listed) continue;
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += name;
  }
  if (!match.allow.empty()) match.kind = Match::kMethodNotAllowed;
  return match;
}

}  // namespace kissvdb::http
