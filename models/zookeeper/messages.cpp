#include "models/zookeeper/messages.hpp"

namespace stampede::zk {

std::string_view type_name(std::uint32_t type) {
  switch (type) {
    case notification:
      return "zk.notification";
    case follower_info:
      return "zk.follower_info";
    case ack_epoch:
      return "zk.ack_epoch";
    case ack_new_leader:
      return "zk.ack_new_leader";
    case ack:
      return "zk.ack";
    case ping_reply:
      return "zk.ping_reply";
    case forward:
      return "zk.forward";
    case revalidate:
      return "zk.revalidate";
    case leader_info:
      return "zk.leader_info";
    case new_leader:
      return "zk.new_leader";
    case up_to_date:
      return "zk.up_to_date";
    case proposal:
      return "zk.proposal";
    case commit:
      return "zk.commit";
    case ping:
      return "zk.ping";
    case revalidate_reply:
      return "zk.revalidate_reply";
    case client_connect:
      return "zk.client_connect";
    case client_ping:
      return "zk.client_ping";
    case client_request:
      return "zk.client_request";
    case client_connected:
      return "zk.client_connected";
    case client_expired:
      return "zk.client_expired";
    case client_closed:
      return "zk.client_closed";
    case client_pong:
      return "zk.client_pong";
    case client_response:
      return "zk.client_response";
    case client_watch:
      return "zk.client_watch";
    case probe_write:
      return "zk.probe_write";
    case probe_committed:
      return "zk.probe_committed";
    default:
      return "zk.unknown";
  }
}

}  // namespace stampede::zk
