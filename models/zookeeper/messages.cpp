#include "models/zookeeper/messages.hpp"

namespace stampede::zk {

std::string_view type_name(std::uint32_t type) {
  std::string_view n =
      wire::name_of<Notification, FollowerInfo, AckEpoch, AckNewLeader, Ack, PingReply, Forward,
                    Revalidate, LeaderInfo, NewLeader, UpToDate, Proposal, Commit, Ping,
                    RevalidateReply, LearnerRefused, ClientConnect, ClientPing, ClientRequest,
                    ClientConnected, ClientExpired, ClientClosed, ClientPong, ClientResponse,
                    ClientWatch, ProbeWrite, ProbeCommitted>(type);
  return n.empty() ? "zk.unknown" : n;
}

}  // namespace stampede::zk
