package run.stoke.harness;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.UserGroupInformation;

/** Kerberos settings of the harness's --secure mode (issue "Kerberos-secured YARN and HDFS"). */
final class SecureMode {
  private SecureMode() {}

  /** Every key configure sets; the harness writes them all to the conf dir. */
  static final java.util.List<String> KEYS = new java.util.ArrayList<>();

  static void configure(Configuration conf, String qop, String dataTransfer, String krb5Conf, String keytab, String realm,
      java.io.File classpathConf, long tokenMaxLifetimeMs) throws IOException {
    switch (qop) {
      case "authentication":
      case "integrity":
      case "privacy":
        break;
      default:
        throw new IllegalArgumentException("--secure takes authentication, integrity or privacy, got " + qop);
    }
    // Must be set before the first Kerberos use in this JVM.
    System.setProperty("java.security.krb5.conf", krb5Conf);
    java.util.Set<String> before = new java.util.HashSet<>(conf.getPropsWithPrefix("").keySet());
    java.util.Map<String, String> snapshot = new java.util.HashMap<>();
    for (String k : before) {
      snapshot.put(k, conf.getRaw(k));
    }
    String svc = "hadoop/localhost@" + realm;
    String http = "HTTP/localhost@" + realm;

    conf.set("hadoop.security.authentication", "kerberos");
    conf.set("hadoop.rpc.protection", qop);
    // hadoop/localhost@REALM is the superuser "hadoop"; users keep their short names.
    conf.set("hadoop.security.auth_to_local", "RULE:[2:$1](hadoop)s/.*/hadoop/\nRULE:[1:$1]\nDEFAULT");

    conf.set("dfs.namenode.kerberos.principal", svc);
    conf.set("dfs.namenode.keytab.file", keytab);
    conf.set("dfs.datanode.kerberos.principal", svc);
    conf.set("dfs.datanode.keytab.file", keytab);
    conf.set("dfs.web.authentication.kerberos.principal", http);
    conf.set("dfs.web.authentication.kerberos.keytab", keytab);
    conf.setBoolean("dfs.block.access.token.enable", true);
    conf.set("dfs.data.transfer.protection", dataTransfer != null ? dataTransfer : qop);
    conf.set("dfs.http.policy", "HTTP_ONLY");
    // No privileged ports for the DataNode: SASL protects data transfer instead.
    conf.setBoolean("ignore.secure.ports.for.testing", true);
    conf.set("dfs.permissions.superusergroup", "supergroup");
    if (tokenMaxLifetimeMs > 0) {
      // Short-lived delegation tokens, for the token-renewal tests.
      conf.setLong("dfs.namenode.delegation.token.max-lifetime", tokenMaxLifetimeMs);
      conf.setLong("dfs.namenode.delegation.token.renew-interval", Math.max(1000, tokenMaxLifetimeMs / 2));
    }

    conf.set("yarn.resourcemanager.principal", svc);
    conf.set("yarn.resourcemanager.keytab", keytab);
    conf.set("yarn.nodemanager.principal", svc);
    conf.set("yarn.nodemanager.keytab", keytab);
    conf.set("yarn.resourcemanager.webapp.spnego-principal", http);
    conf.set("yarn.resourcemanager.webapp.spnego-keytab-file", keytab);
    conf.set("yarn.nodemanager.webapp.spnego-principal", http);
    conf.set("yarn.nodemanager.webapp.spnego-keytab-file", keytab);
    // Delegation tokens the RM renews: any user may name the RM as renewer.
    conf.set("hadoop.proxyuser.hadoop.hosts", "*");
    conf.set("hadoop.proxyuser.hadoop.groups", "*");

    for (String k : conf.getPropsWithPrefix("").keySet()) {
      String v = conf.getRaw(k);
      if (v != null && !v.equals(snapshot.get(k)) && (k.contains("security") || k.contains("kerberos") || k.contains("keytab")
          || k.contains("principal") || k.contains("protection") || k.contains("block.access") || k.contains("proxyuser")
          || k.contains("secure") || k.contains("http.policy") || k.contains("superusergroup"))) {
        KEYS.add(k);
      }
    }
    // Processes and components that build their own Configuration (the NodeManager's
    // container localizer) must see the same security settings: a core-site.xml on the
    // classpath carries them.
    if (classpathConf != null) {
      Configuration core = new Configuration(false);
      for (String k : KEYS) {
        core.set(k, conf.getRaw(k));
      }
      java.nio.file.Files.createDirectories(classpathConf.toPath());
      try (java.io.OutputStream out = new java.io.FileOutputStream(new java.io.File(classpathConf, "core-site.xml"))) {
        core.writeXml(out);
      }
    }
    UserGroupInformation.setConfiguration(conf);
    UserGroupInformation.loginUserFromKeytab(svc, keytab);
  }
}
