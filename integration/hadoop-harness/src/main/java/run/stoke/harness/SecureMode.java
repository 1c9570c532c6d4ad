package run.stoke.harness;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.UserGroupInformation;

/** Kerberos settings of the harness's --secure mode (issue "Kerberos-secured YARN and HDFS"). */
final class SecureMode {
  private SecureMode() {}

  static void configure(Configuration conf, String qop, String dataTransfer, String krb5Conf, String keytab, String realm)
      throws IOException {
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

    UserGroupInformation.setConfiguration(conf);
    UserGroupInformation.loginUserFromKeytab(svc, keytab);
  }
}
