#pragma once
// A message between nodes. Small fixed fields cover most protocol messages without allocating;
// a model that needs more (a container list, a table row) attaches an immutable Payload. The
// engine never looks inside: it only needs the size (for bandwidth) and a digest (for traces).
#include <cstdint>
#include <memory>
#include <string>

#include "sim/core/digest.hpp"

namespace stampede {

using NodeId = std::uint32_t;
inline constexpr NodeId k_no_node = UINT32_MAX;

class Payload {
 public:
  virtual ~Payload() = default;
  virtual void digest_into(Digest& d) const = 0;
};

struct Message {
  std::uint32_t type = 0;          // model-defined tag; the model names it for timelines
  std::uint32_t size_bytes = 128;  // on the wire, for engines that model bandwidth
  std::int64_t a = 0;              // model-defined small fields
  std::int64_t b = 0;
  std::int64_t c = 0;
  std::shared_ptr<const Payload> body;  // optional, immutable once sent

  std::uint64_t digest() const {
    Digest d;
    d.add(type).add_signed(a).add_signed(b).add_signed(c);
    if (body) body->digest_into(d);
    return d.value();
  }
};

}  // namespace stampede
