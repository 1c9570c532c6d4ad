package run.stoke.harness;

import java.io.IOException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * {@code --log-aggregation FORMAT[:COMPRESSION]}: the NodeManagers aggregate finished
 * applications' container logs to {@link #REMOTE_DIR} on HDFS with the TFile or IndexedFormat
 * controller, blocks compressed with none (the default) or gz. {@code --log-roll-seconds N}
 * also uploads running applications' logs every N seconds (rolling aggregation).
 */
final class LogAggregation {
  private LogAggregation() {}

  /** Not the default /tmp/logs: clients must read yarn.nodemanager.remote-app-log-dir. */
  static final String REMOTE_DIR = "/app-logs";

  static void configure(Configuration conf, String spec, int rollSeconds) {
    if (spec == null) {
      return;
    }
    String[] parts = spec.split(":", 2);
    String format = parts[0];
    conf.setBoolean("yarn.log-aggregation-enable", true);
    conf.set("yarn.nodemanager.remote-app-log-dir", REMOTE_DIR);
    conf.set("yarn.log-aggregation.file-formats", format);
    switch (format) {
      case "TFile":
        break;
      case "IndexedFormat":
        conf.set("yarn.log-aggregation.file-controller.IndexedFormat.class",
            "org.apache.hadoop.yarn.logaggregation.filecontroller.ifile.LogAggregationIndexedFileController");
        break;
      default:
        throw new IllegalArgumentException("--log-aggregation takes TFile or IndexedFormat, got " + format);
    }
    if (parts.length > 1) {
      conf.set("yarn.nodemanager.log-aggregation.compression-type", parts[1]);
    }
    if (rollSeconds > 0) {
      conf.setLong("yarn.nodemanager.log-aggregation.roll-monitoring-interval-seconds.min", rollSeconds);
      conf.setLong("yarn.nodemanager.log-aggregation.roll-monitoring-interval-seconds", rollSeconds);
    }
  }

  /** The remote directory exists, world-writable and sticky, as an administrator makes it. */
  static void prepare(Configuration conf, FileSystem fs) throws IOException {
    if (!conf.getBoolean("yarn.log-aggregation-enable", false)) {
      return;
    }
    Path dir = new Path(REMOTE_DIR);
    fs.mkdirs(dir);
    fs.setPermission(dir, new FsPermission((short) 01777));
  }
}
