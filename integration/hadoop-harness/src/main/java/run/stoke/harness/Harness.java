package run.stoke.harness;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * Starts a MiniDFSCluster (one DataNode) and a MiniYARNCluster (N NodeManagers running real
 * container processes through the DefaultContainerExecutor) in this JVM, writes a Hadoop
 * configuration directory describing them, prints exactly one line
 * {@code HARNESS READY {json}} to stdout, and shuts everything down when stdin reaches EOF.
 *
 * <p>Usage: {@code Harness --conf-dir DIR [--work-dir DIR] [--nodemanagers N] [--rpc-protection QOP]
 * [--secure[=QOP]]} where QOP is authentication, integrity or privacy (hadoop.rpc.protection).
 *
 * <p>Kerberos (issue 5) plugs in at {@link #configureSecurity}: a MiniKdc (hadoop-minikdc) is
 * started before the clusters, one service principal serves NN, DN, RM and NM, a user principal's
 * keytab is written next to the conf dir, and the READY line gains krb5conf/keytab/principal. Not
 * implemented yet: {@code --secure} exits with status 2 and says so.
 *
 * <p>All logging goes to stderr; stdout carries only the READY line so a parent can parse it.
 */
public final class Harness {
  private Harness() {}

  /**
   * How long a graceful stop may take before the JVM halts. Once any container has run, a
   * NodeManager's NonAggregatingLogHandler waits 10 s for its delayed log-deletion tasks; the
   * containers themselves are killed well before that (sigkill delay + kill wait, 0.6 s here).
   */
  private static final long STOP_GRACE_MS = 5_000;

  public static void main(String[] args) throws Exception {
    // Keep the real stdout for the protocol line; anything Hadoop prints goes to stderr.
    PrintStream protocol = new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);

    Options opts;
    try {
      opts = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("harness: " + e.getMessage());
      System.err.println("usage: Harness --conf-dir DIR [--work-dir DIR] [--nodemanagers N] [--rpc-protection QOP] [--secure[=QOP]]");
      System.exit(2);
      return;
    }
    if (opts.secure != null && (opts.krb5Conf == null || opts.keytab == null || opts.realm == null)) {
      System.err.println("harness: --secure needs --krb5-conf, --keytab and --realm (a KDC the caller runs)");
      System.exit(2);
    }

    // MiniYARNCluster names NodeManagers after the local hostname; it must resolve.
    try {
      java.net.InetAddress.getLocalHost();
    } catch (java.net.UnknownHostException e) {
      System.err.println("harness: the local hostname does not resolve (" + e.getMessage()
          + "); add it to /etc/hosts, e.g. `echo \"127.0.0.1 $(hostname)\" >> /etc/hosts`");
      System.exit(1);
    }

    long t0 = System.nanoTime();
    File work = opts.workDir.getAbsoluteFile();
    File confDir = opts.confDir.getAbsoluteFile();
    Files.createDirectories(work.toPath());
    Files.createDirectories(confDir.toPath());

    // Hadoop's test utilities put their directories under test.build.data (default: ./target).
    System.setProperty("test.build.data", new File(work, "test-data").getPath());
    System.setProperty("hadoop.log.dir", new File(work, "logs").getPath());

    Configuration conf = new YarnConfiguration(new HdfsConfiguration());
    conf.set("hadoop.tmp.dir", new File(work, "tmp").getPath());
    configureSecurity(conf, opts, work);
    configureProxyUsers(conf, opts);
    // The second HDFS starts from the settings as they are before the first cluster adds its own.
    Configuration conf2 = opts.secondHdfs ? new HdfsConfiguration(conf) : null;

    MiniDFSCluster dfs = null;
    MiniDFSCluster dfs2 = null;
    MiniYARNCluster yarn = null;
    org.apache.hadoop.yarn.server.nodemanager.NodeManager extraNM = null;
    try {
      MiniDFSCluster.Builder dfsBuilder = new MiniDFSCluster.Builder(conf, new File(work, "dfs")).numDataNodes(1);
      if (opts.extraNodeManager != null) {
        Placement.dataNodeOn(conf, opts.extraNodeManager);
        dfsBuilder.checkDataNodeHostConfig(true).checkDataNodeAddrConfig(true);
      }
      dfs = dfsBuilder.build();
      dfs.waitActive();
      conf.set("fs.defaultFS", dfs.getURI().toString());
      prepareFileSystem(dfs, opts.proxyUsers);
      if (opts.secondHdfs) {
        // Another namespace (own NameNode and DataNode) with the same security settings, for
        // delegation tokens of a file system other than fs.defaultFS; it is not in the conf dir.
        dfs2 = new MiniDFSCluster.Builder(conf2, new File(work, "dfs2"))
            .numDataNodes(1)
            .build();
        dfs2.waitActive();
        prepareFileSystem(dfs2, opts.proxyUsers);
      }
      long tDfs = System.nanoTime();

      configureYarn(conf);
      if (opts.nodeLabel != null) {
        Placement.enableLabels(conf, work);
      }
      if (opts.nodeLocalityDelay != null) {
        conf.setInt("yarn.scheduler.capacity.node-locality-delay", opts.nodeLocalityDelay);
        // Off-switch waits as long (else it waits for only as many missed
        // opportunities as the asked locations over the cluster's size).
        conf.setInt("yarn.scheduler.capacity.rack-locality-additional-delay", 0);
      }
      if (opts.heartbeatMillis != null) {
        conf.setInt("yarn.resourcemanager.nodemanagers.heartbeat-interval-ms", opts.heartbeatMillis);
      }
      LogAggregation.configure(conf, opts.logAggregation, opts.logRollSeconds);
      LogAggregation.prepare(conf, dfs.getFileSystem());
      yarn = new MiniYARNCluster("stoke-harness", opts.nodeManagers, 1, 1);
      yarn.init(conf);
      yarn.start();
      Configuration out = yarn.getConfig();
      long deadline = System.currentTimeMillis() + 60_000;
      // start() can return before the RM has published its bound port.
      while (out.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0")) {
        if (System.currentTimeMillis() > deadline) {
          throw new IOException("ResourceManager address still ends in :0 after 60s");
        }
        Thread.sleep(50);
      }
      if (!yarn.waitForNodeManagersToConnect(60_000)) {
        throw new IOException("NodeManagers did not register with the ResourceManager within 60s");
      }
      String[] labelled = null;
      if (opts.nodeLabel != null) {
        labelled = Placement.label(yarn, out, opts.nodeLabel);
      }
      if (opts.extraNodeManager != null) {
        extraNM = Placement.extraNodeManager(yarn, work, opts.extraNodeManager);
        Placement.waitForNodes(yarn, opts.nodeManagers + 1, 60_000);
      }
      long tYarn = System.nanoTime();

      writeConfDir(out, confDir);

      Map<String, Object> ready = new TreeMap<>();
      ready.put("confdir", confDir.getPath());
      ready.put("workdir", work.getPath());
      ready.put("fs", out.get("fs.defaultFS"));
      if (dfs2 != null) {
        ready.put("second_fs", dfs2.getURI().toString());
      }
      ready.put("rm", out.get(YarnConfiguration.RM_ADDRESS));
      ready.put("scheduler", out.get(YarnConfiguration.RM_SCHEDULER_ADDRESS));
      ready.put("rm_webapp", out.get(YarnConfiguration.RM_WEBAPP_ADDRESS));
      ready.put("nodemanagers", opts.nodeManagers);
      ready.put("yarn_workdir", yarn.getTestWorkDir().getAbsolutePath());
      ready.put("secure", opts.secure != null);
      ready.put("rpc_protection", out.get("hadoop.rpc.protection", "authentication"));
      ready.put("dfs_ms", (tDfs - t0) / 1_000_000);
      ready.put("yarn_ms", (tYarn - tDfs) / 1_000_000);
      if (labelled != null) {
        ready.put("labelled_node", labelled[0]);
        ready.put("labelled_node_http", labelled[1]);
      }
      if (extraNM != null) {
        org.apache.hadoop.yarn.api.records.NodeId id = extraNM.getNMContext().getNodeId();
        ready.put("extra_node", id.getHost() + ":" + id.getPort());
      }
      protocol.println("HARNESS READY " + json(ready));
      protocol.flush();

      waitForEof(System.in);
      System.err.println("harness: stdin closed, shutting down");
      // The data is throwaway: a stop that lingers must not hold the test up.
      Thread watchdog = new Thread(() -> {
        try {
          Thread.sleep(STOP_GRACE_MS);
          System.err.println("harness: graceful stop took over " + STOP_GRACE_MS + " ms; halting");
          Runtime.getRuntime().halt(0);
        } catch (InterruptedException e) {
          // stopped in time
        }
      }, "stop-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
    } catch (Throwable t) {
      System.err.println("harness: FAILED: " + t);
      t.printStackTrace(System.err);
      stopQuietly(extraNM);
      stop(yarn, dfs);
      stop(null, dfs2);
      System.exit(1);
    }
    stopQuietly(extraNM);
    stop(yarn, dfs);
    stop(null, dfs2);
    System.err.println("harness: stopped");
    // Hadoop leaves non-daemon threads behind; the process must end when the parent is done.
    System.exit(0);
  }

  /**
   * Lays out HDFS like a fresh cluster: world-writable /tmp, and a home directory for the user
   * and for each of --proxy-users.
   */
  static void prepareFileSystem(MiniDFSCluster dfs, List<String> proxyUsers) throws IOException {
    org.apache.hadoop.fs.FileSystem fs = dfs.getFileSystem();
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path("/tmp");
    fs.mkdirs(tmp);
    fs.setPermission(tmp, new org.apache.hadoop.fs.permission.FsPermission((short) 01777));
    List<String> users = new ArrayList<>(proxyUsers);
    users.add(System.getProperty("user.name"));
    for (String user : users) {
      org.apache.hadoop.fs.Path home = new org.apache.hadoop.fs.Path("/user/" + user);
      fs.mkdirs(home);
      fs.setOwner(home, user, null);
    }
  }

  /**
   * --allow-proxy U1,U2: the OS user (the test's user principal, by its short name) may act
   * for U1 and U2 from any host (hadoop.proxyuser.USER.hosts and .users), on HDFS and YARN.
   * Without it no rule names the OS user, so it may impersonate no one.
   */
  static void configureProxyUsers(Configuration conf, Options opts) {
    if (opts.allowProxy.isEmpty()) {
      return;
    }
    String user = System.getProperty("user.name");
    conf.set("hadoop.proxyuser." + user + ".hosts", "*");
    conf.set("hadoop.proxyuser." + user + ".users", String.join(",", opts.allowProxy));
  }

  /**
   * SIMPLE authentication, or with --secure Kerberos against the caller's KDC: every service
   * (NameNode, DataNode, ResourceManager, NodeManager) runs as hadoop/localhost@REALM and the web
   * endpoints as HTTP/localhost@REALM, both in --keytab; block access tokens and SASL data
   * transfer protection at the --secure level; secure ports are waived for testing.
   */
  static void configureSecurity(Configuration conf, Options opts, File work) throws IOException {
    if (opts.secure != null) {
      SecureMode.configure(conf, opts.secure, opts.dataTransfer, opts.krb5Conf.getAbsolutePath(), opts.keytab.getAbsolutePath(), opts.realm, opts.classpathConf, opts.tokenMaxLifetimeMs);
      return;
    }
    conf.set("hadoop.security.authentication", "simple");
    // Even without Kerberos, TOKEN connections (AM->RM scheduler, AM->NM) negotiate this QOP.
    if (opts.rpcProtection != null) {
      conf.set("hadoop.rpc.protection", opts.rpcProtection);
    }
  }

  static void configureYarn(Configuration conf) {
    // Queues by hand: do not depend on a capacity-scheduler.xml being on the classpath.
    conf.set("yarn.scheduler.capacity.root.queues", "default");
    conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
    conf.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
    conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
    conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    conf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
    // One small NM must be able to host the AM and executors.
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 1.0f);
    conf.setInt("yarn.scheduler.minimum-allocation-mb", 64);
    conf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", 4096);
    conf.setInt("yarn.nodemanager.resource.memory-mb", 4096);
    // The largest container is a node's, from the start (the RM otherwise
    // allows its configured 8 GiB until its nodes have had time to register).
    conf.setInt("yarn.scheduler.maximum-allocation-mb", 4096);
    conf.setInt("yarn.nodemanager.resource.cpu-vcores", 8);
    // Containers are Go processes; no JVM-sized memory accounting.
    conf.setBoolean("yarn.nodemanager.vmem-check-enabled", false);
    conf.setBoolean("yarn.nodemanager.pmem-check-enabled", false);
    // A nearly full build disk must not mark the only NM unhealthy.
    conf.setFloat("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", 100.0f);
    conf.setInt("yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb", 0);
    // Fast allocation in tests.
    conf.setInt("yarn.resourcemanager.nodemanagers.heartbeat-interval-ms", 100);
    // Keep finished container dirs around a little for post-mortems.
    conf.setInt("yarn.nodemanager.delete.debug-delay-sec", 60);
    // Kill containers quickly, and bound how long a stopping NodeManager waits for applications
    // to clean up (sigkill delay + kill wait + 1 s slop).
    conf.setInt("yarn.nodemanager.sleep-delay-before-sigkill.ms", 100);
    conf.setInt("yarn.nodemanager.process-kill-wait.ms", 500);
    // Applications are not recovered across harness runs.
    conf.setBoolean("yarn.resourcemanager.recovery.enabled", false);
  }

  /**
   * Writes core-site.xml, hdfs-site.xml and yarn-site.xml with every property whose value differs
   * from the stock defaults: dfs.* to hdfs-site, yarn.* to yarn-site, the rest to core-site. Values
   * are written raw, so ${var} references stay for the reader to expand, as on a real cluster.
   */
  static void writeConfDir(Configuration live, File confDir) throws IOException {
    Configuration defaults = new YarnConfiguration(new HdfsConfiguration());
    Configuration core = new Configuration(false);
    Configuration hdfs = new Configuration(false);
    Configuration yarn = new Configuration(false);
    for (Map.Entry<String, String> e : live.getPropsWithPrefix("").entrySet()) {
      String k = e.getKey();
      String v = live.getRaw(k);
      if (v == null || v.equals(defaults.getRaw(k))) {
        continue;
      }
      Configuration dst = k.startsWith("dfs.") ? hdfs : k.startsWith("yarn.") ? yarn : core;
      dst.set(k, v, "stoke-harness");
    }
    // Security settings always go out, even when they equal what the classpath's core-site.xml
    // (secure mode) makes the defaults.
    for (String k : SecureMode.KEYS) {
      if (live.getRaw(k) != null) {
        Configuration dst = k.startsWith("dfs.") ? hdfs : k.startsWith("yarn.") ? yarn : core;
        dst.set(k, live.getRaw(k), "stoke-harness");
      }
    }
    write(core, new File(confDir, "core-site.xml"));
    write(hdfs, new File(confDir, "hdfs-site.xml"));
    write(yarn, new File(confDir, "yarn-site.xml"));
  }

  private static void write(Configuration c, File f) throws IOException {
    File tmp = new File(f.getPath() + ".tmp");
    try (OutputStream os = new FileOutputStream(tmp)) {
      c.writeXml(os);
    }
    Files.move(tmp.toPath(), f.toPath(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static void waitForEof(InputStream in) throws IOException {
    byte[] buf = new byte[256];
    while (in.read(buf) >= 0) {
      // Input is ignored; only EOF matters.
    }
  }

  private static void stopQuietly(org.apache.hadoop.yarn.server.nodemanager.NodeManager nm) {
    if (nm == null) {
      return;
    }
    try {
      nm.stop();
    } catch (Throwable t) {
      System.err.println("harness: stopping the extra NodeManager: " + t);
    }
  }

  private static void stop(MiniYARNCluster yarn, MiniDFSCluster dfs) {
    // MiniYARNCluster names NodeManagers after the local hostname; it must resolve.
    try {
      java.net.InetAddress.getLocalHost();
    } catch (java.net.UnknownHostException e) {
      System.err.println("harness: the local hostname does not resolve (" + e.getMessage()
          + "); add it to /etc/hosts, e.g. `echo \"127.0.0.1 $(hostname)\" >> /etc/hosts`");
      System.exit(1);
    }

    long t0 = System.nanoTime();
    try {
      if (yarn != null) {
        yarn.stop();
      }
    } catch (Throwable t) {
      System.err.println("harness: stopping YARN: " + t);
    }
    long t1 = System.nanoTime();
    try {
      if (dfs != null) {
        dfs.shutdown();
      }
    } catch (Throwable t) {
      System.err.println("harness: stopping HDFS: " + t);
    }
    System.err.printf("harness: YARN stopped in %d ms, HDFS in %d ms%n",
        (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
  }

  static String json(Map<String, Object> m) {
    StringBuilder sb = new StringBuilder("{");
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      sb.append(quote(e.getKey())).append(':');
      Object v = e.getValue();
      if (v instanceof Number || v instanceof Boolean) {
        sb.append(v);
      } else {
        sb.append(quote(String.valueOf(v)));
      }
    }
    return sb.append('}').toString();
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }

  static final class Options {
    File confDir;
    File workDir;
    int nodeManagers = 1;
    String secure; // null: simple auth; otherwise the hadoop.rpc.protection to use
    String rpcProtection; // hadoop.rpc.protection for SASL (TOKEN) connections, also without Kerberos
    File krb5Conf; // --secure: the KDC's krb5.conf
    File keytab; // --secure: keytab of hadoop/localhost and HTTP/localhost
    String realm; // --secure: their realm
    String dataTransfer; // --secure: dfs.data.transfer.protection when not the RPC level
    File classpathConf; // --secure: a classpath directory for core-site.xml
    long tokenMaxLifetimeMs; // --secure: delegation token max lifetime (0: Hadoop's 7 days)
    String nodeLabel; // --node-label: an exclusive label on NodeManager 0
    String extraNodeManager; // --extra-nodemanager: one more NodeManager, its node named by this address
    Integer nodeLocalityDelay; // --node-locality-delay: the capacity scheduler's (the harness's default: -1)
    Integer heartbeatMillis; // --heartbeat-ms: the NodeManagers' heartbeat interval (the harness's default: 100)
    List<String> proxyUsers = new ArrayList<>(); // --proxy-users: users given an HDFS home directory
    List<String> allowProxy = new ArrayList<>(); // --allow-proxy: users the OS user may impersonate
    boolean secondHdfs; // --second-hdfs: start another MiniDFSCluster, reported as second_fs
    String logAggregation; // --log-aggregation FORMAT[:COMPRESSION] (null: off)
    int logRollSeconds; // --log-roll-seconds: rolling log aggregation interval (0: at the end only)

    static Options parse(String[] args) {
      Options o = new Options();
      List<String> a = new ArrayList<>(List.of(args));
      for (int i = 0; i < a.size(); i++) {
        String s = a.get(i);
        String val = null;
        int eq = s.indexOf('=');
        if (s.startsWith("--") && eq > 0) {
          val = s.substring(eq + 1);
          s = s.substring(0, eq);
        }
        switch (s) {
          case "--conf-dir": o.confDir = new File(val != null ? val : next(a, ++i, s)); break;
          case "--work-dir": o.workDir = new File(val != null ? val : next(a, ++i, s)); break;
          case "--nodemanagers":
            o.nodeManagers = Integer.parseInt(val != null ? val : next(a, ++i, s));
            if (o.nodeManagers < 1 || o.nodeManagers > 4) {
              throw new IllegalArgumentException("--nodemanagers must be 1..4");
            }
            break;
          case "--secure": o.secure = val != null ? val : "authentication"; break;
          case "--krb5-conf": o.krb5Conf = new File(val != null ? val : next(a, ++i, s)); break;
          case "--keytab": o.keytab = new File(val != null ? val : next(a, ++i, s)); break;
          case "--realm": o.realm = val != null ? val : next(a, ++i, s); break;
          case "--data-transfer-protection": o.dataTransfer = val != null ? val : next(a, ++i, s); break;
          case "--classpath-conf": o.classpathConf = new File(val != null ? val : next(a, ++i, s)); break;
          case "--node-label": o.nodeLabel = val != null ? val : next(a, ++i, s); break;
          case "--extra-nodemanager": o.extraNodeManager = val != null ? val : next(a, ++i, s); break;
          case "--node-locality-delay": o.nodeLocalityDelay = Integer.parseInt(val != null ? val : next(a, ++i, s)); break;
          case "--heartbeat-ms": o.heartbeatMillis = Integer.parseInt(val != null ? val : next(a, ++i, s)); break;
          case "--proxy-users": o.proxyUsers = users(val != null ? val : next(a, ++i, s), s); break;
          case "--allow-proxy": o.allowProxy = users(val != null ? val : next(a, ++i, s), s); break;
          case "--second-hdfs": o.secondHdfs = true; break;
          case "--token-max-lifetime-ms": o.tokenMaxLifetimeMs = Long.parseLong(val != null ? val : next(a, ++i, s)); break;
          case "--log-aggregation": o.logAggregation = val != null ? val : next(a, ++i, s); break;
          case "--log-roll-seconds": o.logRollSeconds = Integer.parseInt(val != null ? val : next(a, ++i, s)); break;
          case "--rpc-protection":
            o.rpcProtection = val != null ? val : next(a, ++i, s);
            for (String q : o.rpcProtection.split(",")) {
              if (!List.of("authentication", "integrity", "privacy").contains(q.trim())) {
                throw new IllegalArgumentException("--rpc-protection takes authentication, integrity or privacy, got " + q);
              }
            }
            break;
          default: throw new IllegalArgumentException("unknown argument " + s);
        }
      }
      if (o.confDir == null) {
        throw new IllegalArgumentException("--conf-dir is required");
      }
      if (o.workDir == null) {
        o.workDir = new File(o.confDir.getAbsoluteFile().getParentFile(), "harness-work");
      }
      return o;
    }

    private static List<String> users(String v, String flag) {
      List<String> out = new ArrayList<>();
      for (String u : v.split(",")) {
        if (!u.matches("[A-Za-z0-9._-]+")) {
          throw new IllegalArgumentException(flag + " takes comma-separated user names, got " + v);
        }
        out.add(u);
      }
      return out;
    }

    private static String next(List<String> a, int i, String flag) {
      if (i >= a.size()) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      return a.get(i);
    }
  }
}
