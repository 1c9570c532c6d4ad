package run.stoke.harness;

import java.io.File;
import java.util.Collections;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.api.records.NodeId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;
import org.apache.hadoop.yarn.server.resourcemanager.nodelabels.RMNodeLabelsManager;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacityScheduler;

/**
 * Where containers go, for the placement tests (issue "YARN extras"): a node label on the first
 * NodeManager ({@code --node-label}), and one more NodeManager whose node is named by another
 * address ({@code --extra-nodemanager}: MiniYARNCluster names all of its NodeManagers after the
 * local hostname, so a host-level container request could not tell them apart).
 */
final class Placement {
  private Placement() {}

  /**
   * Names the DataNode by host (listening on every address), so blocks are located on the extra
   * NodeManager's node: a NodeManager's node is named by the canonical name of its address, and
   * 127.0.0.1's is "localhost", like every MiniYARNCluster node's.
   */
  static void dataNodeOn(Configuration conf, String host) {
    conf.set("dfs.datanode.hostname", host);
    conf.set("dfs.datanode.address", "0.0.0.0:0");
    conf.set("dfs.datanode.http.address", "0.0.0.0:0");
    conf.set("dfs.datanode.ipc.address", "0.0.0.0:0");
  }

  /** Before the cluster starts: node labels kept in a store under the work directory. */
  static void enableLabels(Configuration conf, File work) {
    conf.setBoolean("yarn.node-labels.enabled", true);
    conf.set("yarn.node-labels.fs-store.root-dir", new File(work, "node-labels").toURI().toString());
  }

  /**
   * Adds the exclusive cluster label, puts it on NodeManager 0, lets the default queue use the
   * whole partition and reloads the scheduler's queues. Returns NodeManager 0's node id and web
   * address.
   */
  static String[] label(MiniYARNCluster yarn, Configuration conf, String label) throws Exception {
    ResourceManager rm = yarn.getResourceManager();
    RMNodeLabelsManager labels = rm.getRMContext().getNodeLabelManager();
    labels.addToCluserNodeLabelsWithDefaultExclusivity(Collections.singleton(label));
    NodeManager nm = yarn.getNodeManager(0);
    NodeId id = nm.getNMContext().getNodeId();
    labels.replaceLabelsOnNode(Collections.singletonMap(id, Collections.singleton(label)));
    Configuration c = new Configuration(rm.getConfig());
    for (String q : new String[] {"root", "root.default"}) {
      c.set("yarn.scheduler.capacity." + q + ".accessible-node-labels", label);
      c.set("yarn.scheduler.capacity." + q + ".accessible-node-labels." + label + ".capacity", "100");
      c.set("yarn.scheduler.capacity." + q + ".accessible-node-labels." + label + ".maximum-capacity", "100");
      conf.set("yarn.scheduler.capacity." + q + ".accessible-node-labels", label);
      conf.set("yarn.scheduler.capacity." + q + ".accessible-node-labels." + label + ".capacity", "100");
      conf.set("yarn.scheduler.capacity." + q + ".accessible-node-labels." + label + ".maximum-capacity", "100");
    }
    ((CapacityScheduler) rm.getResourceScheduler()).reinitialize(c, rm.getRMContext());
    return new String[] {id.getHost() + ":" + id.getPort(), nm.getNMContext().getHttpPort() > 0
        ? id.getHost() + ":" + nm.getNMContext().getHttpPort() : ""};
  }

  /**
   * Starts one more NodeManager, registered with the cluster's ResourceManager over RPC, whose
   * node is named {@code host} (its RPC server listens there). Returns it, started; its node id
   * is host:port.
   */
  static NodeManager extraNodeManager(MiniYARNCluster yarn, File work, String host) throws Exception {
    Configuration c = new YarnConfiguration(yarn.getConfig());
    File dir = new File(work, "extra-nm");
    c.set(YarnConfiguration.NM_LOCAL_DIRS, new File(dir, "local").getAbsolutePath());
    c.set(YarnConfiguration.NM_LOG_DIRS, new File(dir, "logs").getAbsolutePath());
    c.set(YarnConfiguration.NM_BIND_HOST, host);
    c.set(YarnConfiguration.NM_ADDRESS, host + ":0");
    c.set(YarnConfiguration.NM_LOCALIZER_ADDRESS, host + ":0");
    c.set(YarnConfiguration.NM_WEBAPP_ADDRESS, host + ":0");
    c.set(YarnConfiguration.NM_COLLECTOR_SERVICE_ADDRESS, host + ":0");
    c.setBoolean(YarnConfiguration.NM_RECOVERY_ENABLED, false);
    NodeManager nm = new NodeManager();
    nm.init(c);
    nm.start();
    return nm;
  }

  /** Waits until the ResourceManager counts n running nodes. */
  static void waitForNodes(MiniYARNCluster yarn, int n, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (yarn.getResourceManager().getRMContext().getRMNodes().size() < n) {
      if (System.currentTimeMillis() > deadline) {
        throw new java.io.IOException("the extra NodeManager did not register within " + timeoutMs + " ms");
      }
      Thread.sleep(50);
    }
  }
}
