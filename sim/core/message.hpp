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

// How a message travels. Every protocol of Rancher 1.1's cluster runs over TCP (HTTP and
// websockets, MySQL, ZooKeeper, Redis), so `stream` is the default: the message rides the
// connection between its two nodes (sim/net/connections.hpp), arrives in the order it was sent,
// and is never dropped or duplicated alone; a lossy network resets the whole connection instead.
// `datagram` is for abstract protocols that assume nothing of their transport (models/lease_lock):
// each message may be lost, duplicated or reordered on its own.
enum class Transport : std::uint8_t { stream, datagram };

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
  Transport transport = Transport::stream;  // not part of the digest: it is the type's property

  std::uint64_t digest() const {
    Digest d;
    d.add(type).add_signed(a).add_signed(b).add_signed(c);
    if (body) body->digest_into(d);
    return d.value();
  }
};

}  // namespace stampede
