// What yaml-cpp accepts but a scenario must not hold, found from the parser's own events before
// the text becomes a tree: anchors and aliases (a few hundred bytes of nested aliases expand to
// gigabytes once the tree is walked as a tree), nesting deeper than any scenario needs, a second
// document, and a quoted string that is never closed (yaml-cpp 0.7 reads it to the end of the
// text, swallowing every key after it).
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <fmt/format.h>

#include <sstream>

#include "sim/scenario/checked_yaml.hpp"
#include "sim/scenario/sections.hpp"

namespace stampede::scenario_detail {

namespace {

constexpr int k_max_depth = 32;

struct Stop {
  YamlProblem problem;
};

// The offset of `mark` (0-based line and column) in `text`.
std::size_t offset_of(std::string_view text, const YAML::Mark& mark) {
  std::size_t pos = 0;
  for (int line = 0; line < mark.line && pos < text.size(); ++line) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return text.size();
    pos = nl + 1;
  }
  return std::min(text.size(), pos + static_cast<std::size_t>(mark.column));
}

// Whether the quoted scalar opening at `pos` is closed: "..." with backslash escapes, '...' with
// '' for a quote.
bool quote_closed(std::string_view text, std::size_t pos) {
  const char q = text[pos];
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (q == '"' && text[i] == '\\') {
      ++i;
      continue;
    }
    if (text[i] != q) continue;
    if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
      ++i;
      continue;
    }
    return true;
  }
  return false;
}

class Checker final : public YAML::EventHandler {
 public:
  // `what` names the file's kind in the messages: "scenario", or "hosts map" for a platform's.
  Checker(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { node(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    stop(mark, fmt::format("an alias (*name): anchors and aliases are not part of the {} "
                           "format; write the value out",
                           what_));
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    node(mark, anchor);
    std::size_t pos = offset_of(text_, mark);
    if (pos < text_.size() && (text_[pos] == '"' || text_[pos] == '\'') &&
        !quote_closed(text_, pos))
      stop(mark, fmt::format("a {} string that is never closed: add the closing {}",
                             text_[pos] == '"' ? "double-quoted" : "single-quoted", text_[pos]));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void node(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor)
      stop(mark, fmt::format("an anchor (&name): anchors and aliases are not part of the {} "
                             "format",
                             what_));
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    node(mark, anchor);
    if (++depth_ > k_max_depth)
      stop(mark, fmt::format("nesting deeper than {} levels: no {} key is that deep",
                             k_max_depth, what_));
  }
  [[noreturn]] void stop(const YAML::Mark& mark, std::string message) {
    throw Stop{YamlProblem{mark.line + 1, mark.column + 1, std::move(message)}};
  }

  std::string_view text_;
  std::string_view what_;
  int depth_ = 0;
};

}  // namespace

std::optional<YamlProblem> check_yaml(std::string_view text, std::string_view what) {
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    Checker checker(text, what);
    if (!parser.HandleNextDocument(checker)) return std::nullopt;
    // A second document: the parser's position is where the first ended, near the "---".
    Checker second(text, what);
    if (parser.HandleNextDocument(second)) {
      std::size_t at = text.find("\n---");
      int line = 1;
      for (std::size_t i = 0; at != std::string_view::npos && i <= at; ++i) line += text[i] == '\n';
      return YamlProblem{line, 1,
                         fmt::format("a second YAML document: a {} is one document (remove the "
                                     "'---' and what follows, or merge the two)",
                                     what)};
    }
  } catch (const Stop& s) {
    return s.problem;
  } catch (const YAML::Exception&) {
    // Malformed YAML: YAML::Load reports it with its position.
  }
  return std::nullopt;
}

}  // namespace stampede::scenario_detail

namespace stampede {

YAML::Node load_checked_yaml(std::string_view text, const std::string& file,
                             std::string_view what) {
  return scenario_detail::load_yaml(text, file, what);
}

}  // namespace stampede
