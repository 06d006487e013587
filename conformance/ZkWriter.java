// A session client on ZooKeeper's own Java client that writes in a loop, in its own process. Run
// from source by the JDK (no build step):
//
//   java -cp ZOOKEEPER_JARS conformance/ZkWriter.java HOSTS TIMEOUT_S PATH
//
// The leader-kill experiment asks when a session client can write again after the leader dies.
// Cattle's servers are such clients (org.apache.zookeeper.ClientCnxn, under Curator), and when
// they can write again depends on the client: after it loses a connection it waits a random
// 0-1 s before it connects to the next server (ClientCnxn.startConnect, ClientCnxn.java:1134-1136
// at release-3.8.0-1), which kazoo does not. So the experiment measures this client.
//
// It creates PATH if needed, then sets PATH's data back to back for ever, and prints one JSON
// line per attempt that failed, followed a failure or took longer than 20 ms, and one per second
// otherwise, each with the attempt's start and end (wall clock, seconds): the harness finds the
// first attempt started after the kill that succeeded (a write needs a leader, so none started
// after the kill succeeds quickly without following a failure or a stall).
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ZkWriter {
  private static double now() {
    return System.currentTimeMillis() / 1000.0;
  }

  public static void main(String[] args) throws Exception {
    String hosts = args[0];
    int timeoutMs = (int) (Double.parseDouble(args[1]) * 1000);
    String path = args[2];
    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper zk = new ZooKeeper(hosts, timeoutMs, e -> {
      if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
    });
    if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
    for (int i = path.indexOf('/', 1); ; i = path.indexOf('/', i + 1)) {
      String parent = i < 0 ? path : path.substring(0, i);
      try {
        zk.create(parent, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
      } catch (KeeperException.NodeExistsException e) {
        // created by another client: fine
      }
      if (i < 0) break;
    }
    System.out.println("{\"event\": \"ready\", \"t\": " + now() + "}");
    System.out.flush();
    double lastPrinted = 0;
    boolean lastFailed = false;
    while (true) {
      double start = now();
      String error = null;
      try {
        zk.setData(path, "x".getBytes(), -1);
      } catch (KeeperException e) {
        error = e.code().toString();
      }
      double end = now();
      if (error != null || lastFailed || end - start > 0.02 || end - lastPrinted > 1.0) {
        System.out.println("{\"event\": \"write\", \"start\": " + start + ", \"end\": " + end
            + ", \"ok\": " + (error == null) + (error == null ? "" : ", \"error\": \"" + error + "\"")
            + "}");
        System.out.flush();
        lastPrinted = end;
      }
      lastFailed = error != null;
      if (lastFailed) Thread.sleep(5);
    }
  }
}
