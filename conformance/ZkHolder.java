// A lock holder on ZooKeeper's own Java client, in its own process so that the harness can freeze
// it (SIGSTOP/SIGCONT). Run from source by the JDK (no build step):
//
//   java -cp ZOOKEEPER_JARS conformance/ZkHolder.java HOSTS TIMEOUT_S PATH
//
// Cattle's servers reach ZooKeeper through this client (org.apache.zookeeper.ClientCnxn, under
// Curator), and the client's reconnect behaviour is part of what the model reproduces: after it
// loses a connection it waits a random 0-1 s before it connects again (ClientCnxn.startConnect,
// ClientCnxn.java:1134-1136 at release-3.8.0-1), which kazoo does not. So the frozen-holder
// experiment measures this client, not kazoo.
//
// It takes the lock PATH with the node kazoo's Lock recipe makes (an ephemeral sequential
// "<id>__lock__" child), so that a kazoo contender queues behind it; prints one JSON line per
// event, stamped with the wall clock in seconds (as zk_client_proc.py does); and once its
// session has expired tries once to act as the holder (a setData on its lock node) and prints
// whether that worked.
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ZkHolder {
  private static synchronized void say(String event, String fields) {
    double t = System.currentTimeMillis() / 1000.0;
    String extra = fields.isEmpty() ? "" : ", " + fields;
    System.out.println("{\"event\": \"" + event + "\", \"t\": " + t + extra + "}");
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    String hosts = args[0];
    int timeoutMs = (int) (Double.parseDouble(args[1]) * 1000);
    String path = args[2];
    CountDownLatch connected = new CountDownLatch(1);
    CountDownLatch expired = new CountDownLatch(1);
    Watcher watcher = (WatchedEvent e) -> {
      if (e.getType() != Watcher.Event.EventType.None) return;
      Watcher.Event.KeeperState s = e.getState();
      // kazoo's names for the same states, which the harness reads.
      String name = s == Watcher.Event.KeeperState.Expired ? "LOST"
          : s == Watcher.Event.KeeperState.Disconnected ? "SUSPENDED"
          : s == Watcher.Event.KeeperState.SyncConnected ? "CONNECTED" : s.toString();
      say("state", "\"state\": \"" + name + "\"");
      if (s == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
      if (s == Watcher.Event.KeeperState.Expired) expired.countDown();
    };
    ZooKeeper zk = new ZooKeeper(hosts, timeoutMs, watcher);
    if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
    say("connected", "");
    String node = lock(zk, path);
    say("acquired", "\"node\": \"" + node + "\"");
    if (!expired.await(600, TimeUnit.SECONDS)) return;
    try {
      zk.setData(node, "stale holder acts".getBytes(), -1);
      say("act", "\"ok\": true");
    } catch (KeeperException e) {
      say("act", "\"ok\": false, \"error\": \"" + e.code() + "\"");
    }
    zk.close();
  }

  // The lock: our node first among the "__lock__" children by sequence number, else wait for
  // the one before it to go.
  private static String lock(ZooKeeper zk, String path) throws Exception {
    for (int i = path.indexOf('/', 1); ; i = path.indexOf('/', i + 1)) {
      String parent = i < 0 ? path : path.substring(0, i);
      try {
        zk.create(parent, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
      } catch (KeeperException.NodeExistsException e) {
        // created by an earlier client: fine
      }
      if (i < 0) break;
    }
    String mine = zk.create(path + "/holder__lock__", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE,
                            CreateMode.EPHEMERAL_SEQUENTIAL);
    String myName = mine.substring(path.length() + 1);
    while (true) {
      List<String> children = zk.getChildren(path, false);
      children.removeIf(c -> !c.contains("__lock__"));
      children.sort((a, b) -> seq(a).compareTo(seq(b)));
      int i = children.indexOf(myName);
      if (i == 0) return mine;
      CountDownLatch gone = new CountDownLatch(1);
      if (zk.exists(path + "/" + children.get(i - 1), e -> gone.countDown()) != null) gone.await();
    }
  }

  private static String seq(String child) {
    return child.substring(child.length() - 10);
  }
}
