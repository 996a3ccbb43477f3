// LoadConfig: merges the config file, the environment and the command line
// over the defaults, in that order, so a later source overrides an earlier
// one. The settings themselves live in settings.cc.

#include "kissvdb/config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/settings.h"

namespace kissvdb {

namespace {

using config_internal::FlagSpec;
using config_internal::Setting;
using config_internal::Settings;
using nlohmann::json;

constexpr const char* kConfigEnv = "KISSVDB_CONFIG";

Status Where(const std::string& where, const Status& st) {
  return Status::InvalidArgument(where + ": " + st.message());
}

struct FlagValue {
  const Setting* setting;
  std::string flag;
  std::string value;
};

struct ParsedArgs {
  bool help = false;
  bool version = false;
  std::string config_path;
  std::vector<FlagValue> values;  // in command-line order; a later one wins
  Status error;                   // the first problem; reported unless --help
};

ParsedArgs ParseArgs(int argc, const char* const* argv) {
  std::map<std::string, std::pair<const Setting*, const FlagSpec*>, std::less<>> by_flag;
  for (const Setting& s : Settings()) {
    for (const FlagSpec& f : s.flags) by_flag[f.name] = {&s, &f};
  }
  ParsedArgs out;
  auto fail = [&out](std::string message) {
    if (out.error.ok()) out.error = Status::InvalidArgument(std::move(message));
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i] ? argv[i] : "";
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg.size() <= 2 || arg.compare(0, 2, "--") != 0) {
      fail("unexpected argument '" + arg + "' (see --help)");
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      // A following "--x" is the next flag, not a value; use --flag=--x for that.
      if (i + 1 < argc && argv[i + 1] && std::string_view(argv[i + 1]).substr(0, 2) != "--") {
        return std::string(argv[++i]);
      }
      fail(name + ": missing value");
      return std::nullopt;
    };
    if (name == "--config") {
      if (auto v = take_value()) out.config_path = *v;
      continue;
    }
    auto it = by_flag.find(name);
    if (it == by_flag.end()) {
      fail("unknown flag " + name + " (see --help)");
      continue;
    }
    const auto& [setting, spec] = it->second;
    if (spec->implied) {
      if (inline_value) {
        fail(name + ": takes no value");
        continue;
      }
      out.values.push_back({setting, name, *spec->implied});
    } else if (auto v = take_value()) {
      out.values.push_back({setting, name, *v});
    }
  }
  return out;
}

std::map<std::string, std::string, std::less<>> EnvMap(const char* const* env) {
  std::map<std::string, std::string, std::less<>> out;
  for (const char* const* e = env; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Status ApplyJsonObject(Config& cfg, const json& obj, const std::string& prefix,
                       const std::string& where) {
  for (const auto& [name, value] : obj.items()) {
    std::string key = prefix + name;
    if (key == "limits") {
      if (!value.is_object()) {
        return Status::InvalidArgument(where + ": key 'limits': expected an object");
      }
      KISSVDB_RETURN_IF_ERROR(ApplyJsonObject(cfg, value, "limits.", where));
      continue;
    }
    const Setting* setting = nullptr;
    for (const Setting& s : Settings()) {
      if (s.key == key) setting = &s;
    }
    if (!setting) return Status::InvalidArgument(where + ": unknown key '" + key + "'");
    Status st = setting->parse_json(cfg, value);
    if (!st.ok()) return Where(where + ": key '" + key + "'", st);
  }
  return Status::OK();
}

Status ApplyFile(Config& cfg, const std::string& path) {
  std::string where = "config file " + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(where + ": cannot open: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(where + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) return Status::InvalidArgument(where + ": expected a JSON object");
  return ApplyJsonObject(cfg, doc, "", where);
}

// For each setting, the highest-priority variable that is set and non-empty
// wins; the ones it shadows are not read.
Status ApplyEnv(Config& cfg, const std::map<std::string, std::string, std::less<>>& env) {
  for (const Setting& s : Settings()) {
    for (const auto& spec : s.env) {
      auto it = env.find(spec.name);
      if (it == env.end() || it->second.empty()) continue;
      Status st = spec.parse ? spec.parse(cfg, it->second) : s.parse_text(cfg, it->second);
      if (!st.ok()) return Where("environment variable " + spec.name, st);
      break;
    }
  }
  return Status::OK();
}

void Finish(Config& cfg) {
  cfg.api_key_explicit = !cfg.api_key.empty();
  if (cfg.sqlite_path.empty()) {
    cfg.sqlite_path = (std::filesystem::path(cfg.data_dir) / "sql.db").string();
  }
}

// Word-wraps `text` at 78 columns, each line indented by `indent` spaces.
std::string Wrap(const std::string& text, size_t indent) {
  std::string out, line;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > 78) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

std::string HelpText() {
  const Config defaults;
  std::ostringstream out;
  out << "Usage: kissvdb [options]\n\n"
         "KissVDB " KISSVDB_VERSION
         ": a local-first, event-sourced database daemon (state, documents, vectors,\n"
         "SQL and a change stream) over HTTP.\n\n"
         "Every setting can come from, highest precedence first: a flag (--flag VALUE or\n"
         "--flag=VALUE), an environment variable (KISSVDB_* beats the original system's\n"
         "names), the JSON config file, the built-in default.\n\n"
         "Options:\n"
         "  -h, --help\n"
         "      Print this help and exit.\n"
         "  --version\n"
         "      Print \"kissvdb VERSION\" and exit.\n"
         "  --config PATH\n"
         "      JSON config file whose keys mirror the settings below, e.g.\n"
         "      {\"port\": 9917, \"limits\": {\"max_key_len\": 512}}. Unknown keys are errors.\n"
         "      env: "
      << kConfigEnv << "\n";
  for (const Setting& s : Settings()) {
    out << "  ";
    bool first = true;
    for (const FlagSpec& f : s.flags) {
      out << (first ? "" : ", ") << f.name;
      if (!f.implied) out << ' ' << s.metavar;
      first = false;
    }
    if (s.flags.empty()) out << "(no flag)";
    out << "\n" << Wrap(s.help, 6);
    std::string def = s.show(defaults);
    out << "      default: " << (def.empty() ? "(empty)" : def) << "; file: " << s.key
        << "\n      env:";
    for (size_t i = 0; i < s.env.size(); ++i) out << (i ? ", " : " ") << s.env[i].name;
    out << "\n";
  }
  out << "\nSee docs/configuration.md for details.\n";
  return out.str();
}

}  // namespace

Result<Config> LoadConfig(int argc, const char* const* argv, const char* const* env,
                          std::string* help_text) {
  ParsedArgs args = ParseArgs(argc, argv);
  if (args.help) {
    if (help_text) *help_text = HelpText();
    return Config{};
  }
  if (args.version) {
    if (help_text) *help_text = "kissvdb " KISSVDB_VERSION "\n";
    return Config{};
  }
  if (!args.error.ok()) return args.error;

  auto env_map = EnvMap(env);
  std::string config_path = args.config_path;
  if (config_path.empty()) {
    if (auto it = env_map.find(kConfigEnv); it != env_map.end()) config_path = it->second;
  }

  Config cfg;
  if (!config_path.empty()) KISSVDB_RETURN_IF_ERROR(ApplyFile(cfg, config_path));
  KISSVDB_RETURN_IF_ERROR(ApplyEnv(cfg, env_map));
  for (const FlagValue& f : args.values) {
    Status st = f.setting->parse_text(cfg, f.value);
    if (!st.ok()) return Where(f.flag, st);
  }
  Finish(cfg);
  return cfg;
}

}  // namespace kissvdb
