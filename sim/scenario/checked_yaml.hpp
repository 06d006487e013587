#pragma once
// The scenario's YAML loading for the other YAML files a user writes (a platform's
// FILE.hosts.yaml): the same refusals (anchors and aliases, nesting deeper than 32, a second
// document, a quoted string never closed) and the same errors, an InputError
// "FILE:LINE:COL: message" with LINE and COL counted from 1.
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace stampede {

// `what` names the file's kind in the messages ("hosts map": "a hosts map is one document").
YAML::Node load_checked_yaml(std::string_view text, const std::string& file,
                             std::string_view what);

}  // namespace stampede
