#include "util/json_filter.h"

#include <charconv>
#include <string_view>

namespace kissvdb {

// One node of the compiled tree. Field nodes hold a pre-split path so
// evaluation never parses strings.
struct JsonFilter::Node {
  enum class Kind { kAnd, kOr, kNot, kEq, kNe, kIn, kNin, kGt, kGte, kLt, kLte, kExists };
  Kind kind;
  std::vector<std::unique_ptr<Node>> children;  // kAnd, kOr, kNot (one)
  std::vector<std::string> path;                // field nodes
  Json operand;                                 // kEq..kLte: value or array; kExists: bool
};

namespace {

using Node = JsonFilter::Node;
using Kind = Node::Kind;

// One step of a dotted path: an object member, or an array element when the
// segment is a decimal index. Null when the step is missing.
const Json* StepInto(const Json& cur, std::string_view seg) {
  if (cur.is_object()) {
    auto it = cur.find(std::string(seg));
    return it == cur.end() ? nullptr : &*it;
  }
  if (cur.is_array()) {
    size_t index = 0;
    auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
    if (ec != std::errc() || end != seg.data() + seg.size() || index >= cur.size()) return nullptr;
    return &cur[index];
  }
  return nullptr;
}

// Walks a pre-split dotted path. Returns null when any step is missing.
const Json* Lookup(const Json& doc, const std::vector<std::string>& path) {
  const Json* cur = &doc;
  for (const std::string& seg : path) {
    cur = StepInto(*cur, seg);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

// Three-way numeric comparison; integers compare exactly, including
// unsigned values above INT64_MAX against negative ones.
int CompareNumbers(const Json& a, const Json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const bool a_neg = !a.is_number_unsigned() && a.get<int64_t>() < 0;
  const bool b_neg = !b.is_number_unsigned() && b.get<int64_t>() < 0;
  if (a_neg != b_neg) return a_neg ? -1 : 1;
  if (a_neg) {
    const int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Ordering for $gt/$gte/$lt/$lte: only number/number and string/string.
// Returns false (no match) for any other pairing.
bool Compare(const Json& value, const Json& operand, Kind kind) {
  int cmp;
  if (value.is_number() && operand.is_number()) {
    cmp = CompareNumbers(value, operand);
  } else if (value.is_string() && operand.is_string()) {
    cmp = value.get_ref<const std::string&>().compare(operand.get_ref<const std::string&>());
  } else {
    return false;
  }
  switch (kind) {
    case Kind::kGt: return cmp > 0;
    case Kind::kGte: return cmp >= 0;
    case Kind::kLt: return cmp < 0;
    case Kind::kLte: return cmp <= 0;
    default: return false;
  }
}

bool In(const Json& value, const Json& array) {
  for (const Json& item : array) {
    if (value == item) return true;
  }
  return false;
}

bool Eval(const Node& node, const Json& doc) {
  switch (node.kind) {
    case Kind::kAnd:
      for (const auto& c : node.children) {
        if (!Eval(*c, doc)) return false;
      }
      return true;
    case Kind::kOr:
      for (const auto& c : node.children) {
        if (Eval(*c, doc)) return true;
      }
      return false;
    case Kind::kNot:
      return !Eval(*node.children[0], doc);
    default:
      break;
  }
  const Json* value = Lookup(doc, node.path);
  switch (node.kind) {
    case Kind::kEq: return value != nullptr && *value == node.operand;
    case Kind::kNe: return value == nullptr || *value != node.operand;
    case Kind::kIn: return value != nullptr && In(*value, node.operand);
    case Kind::kNin: return value == nullptr || !In(*value, node.operand);
    case Kind::kExists: return (value != nullptr) == node.operand.get<bool>();
    default: return value != nullptr && Compare(*value, node.operand, node.kind);
  }
}

Status SplitPath(const std::string& field, std::vector<std::string>* out) {
  if (field.empty()) return Status::InvalidArgument("filter field name is empty");
  size_t start = 0;
  while (true) {
    size_t dot = field.find('.', start);
    std::string seg = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (seg.empty()) return Status::InvalidArgument("filter field \"" + field + "\" has an empty path segment");
    out->push_back(std::move(seg));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return Status::OK();
}

std::unique_ptr<Node> FieldNode(Kind kind, const std::vector<std::string>& path, Json operand) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->path = path;
  n->operand = std::move(operand);
  return n;
}

class Compiler {
 public:
  explicit Compiler(std::vector<std::pair<std::string, Json>>* equalities) : eq_(equalities) {}

  // Compiles a filter object into an AND node. `top` is true while the
  // node's matches are implied by the whole filter (for EqualityFields).
  Result<std::unique_ptr<Node>> Object(const Json& f, int depth, bool top) {
    if (depth > JsonFilter::kMaxDepth) {
      return Status::InvalidArgument("filter is nested deeper than " + std::to_string(JsonFilter::kMaxDepth));
    }
    if (!f.is_object()) return Status::InvalidArgument("filter must be a JSON object");
    auto node = std::make_unique<Node>();
    node->kind = Kind::kAnd;
    for (auto it = f.begin(); it != f.end(); ++it) {
      const std::string& key = it.key();
      if (!key.empty() && key[0] == '$') {
        auto r = Logical(key, it.value(), depth, top);
        if (!r.ok()) return r.status();
        node->children.push_back(std::move(r.value()));
      } else {
        KISSVDB_RETURN_IF_ERROR(Field(key, it.value(), top, &node->children));
      }
    }
    return node;
  }

 private:
  Result<std::unique_ptr<Node>> Logical(const std::string& op, const Json& v, int depth, bool top) {
    auto node = std::make_unique<Node>();
    if (op == "$not") {
      node->kind = Kind::kNot;
      auto r = Object(v, depth + 1, false);
      if (!r.ok()) return r.status();
      node->children.push_back(std::move(r.value()));
      return node;
    }
    if (op != "$and" && op != "$or") {
      return Status::InvalidArgument("unknown filter operator \"" + op + "\" at top level");
    }
    node->kind = op == "$and" ? Kind::kAnd : Kind::kOr;
    if (!v.is_array() || v.empty()) {
      return Status::InvalidArgument(op + " needs a non-empty array of filters");
    }
    for (const Json& sub : v) {
      auto r = Object(sub, depth + 1, top && node->kind == Kind::kAnd);
      if (!r.ok()) return r.status();
      node->children.push_back(std::move(r.value()));
    }
    return node;
  }

  Status Field(const std::string& field, const Json& v, bool top, std::vector<std::unique_ptr<Node>>* out) {
    std::vector<std::string> path;
    KISSVDB_RETURN_IF_ERROR(SplitPath(field, &path));
    bool undotted = path.size() == 1;

    bool has_ops = false, has_plain = false;
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        (!it.key().empty() && it.key()[0] == '$' ? has_ops : has_plain) = true;
      }
    }
    if (has_ops && has_plain) {
      return Status::InvalidArgument("filter on \"" + field + "\" mixes operators and plain keys");
    }
    if (!has_ops) {  // exact equality, including {} and objects without "$" keys
      if (top && undotted) eq_->emplace_back(field, v);
      out->push_back(FieldNode(Kind::kEq, path, v));
      return Status::OK();
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& op = it.key();
      const Json& arg = it.value();
      Kind kind;
      if (op == "$eq") {
        kind = Kind::kEq;
        if (top && undotted) eq_->emplace_back(field, arg);
      } else if (op == "$ne") {
        kind = Kind::kNe;
      } else if (op == "$in" || op == "$nin") {
        kind = op == "$in" ? Kind::kIn : Kind::kNin;
        if (!arg.is_array()) return Status::InvalidArgument(op + " on \"" + field + "\" needs an array");
      } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
        kind = op == "$gt" ? Kind::kGt : op == "$gte" ? Kind::kGte : op == "$lt" ? Kind::kLt : Kind::kLte;
        if (!arg.is_number() && !arg.is_string()) {
          return Status::InvalidArgument(op + " on \"" + field + "\" needs a number or a string");
        }
      } else if (op == "$exists") {
        kind = Kind::kExists;
        if (!arg.is_boolean()) return Status::InvalidArgument("$exists on \"" + field + "\" needs a bool");
      } else {
        return Status::InvalidArgument("unknown filter operator \"" + op + "\" on \"" + field + "\"");
      }
      out->push_back(FieldNode(kind, path, arg));
    }
    return Status::OK();
  }

  std::vector<std::pair<std::string, Json>>* eq_;
};

}  // namespace

JsonFilter::JsonFilter() = default;
JsonFilter::JsonFilter(JsonFilter&&) noexcept = default;
JsonFilter& JsonFilter::operator=(JsonFilter&&) noexcept = default;
JsonFilter::~JsonFilter() = default;

Result<JsonFilter> JsonFilter::Compile(const Json& filter) {
  JsonFilter out;
  if (filter.is_null()) return out;
  Compiler compiler(&out.equalities_);
  auto root = compiler.Object(filter, 0, true);
  if (!root.ok()) return root.status();
  if (!root.value()->children.empty()) out.root_ = std::move(root.value());
  return out;
}

bool JsonFilter::Matches(const Json& doc) const { return root_ == nullptr || Eval(*root_, doc); }

bool JsonFilter::MatchesAll() const { return root_ == nullptr; }

const Json* JsonFilter::ResolvePath(const Json& doc, std::string_view dotted) {
  const Json* cur = &doc;
  while (cur != nullptr) {
    const size_t dot = dotted.find('.');
    cur = StepInto(*cur, dotted.substr(0, dot));
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return cur;
}

}  // namespace kissvdb
