// Package hconf reads a Hadoop client configuration (core-site.xml, hdfs-site.xml,
// mapred-site.xml, yarn-site.xml) from HADOOP_CONF_DIR / YARN_CONF_DIR the way Hadoop's Java
// Configuration does: later files override earlier ones unless a property is final, values
// expand ${other.key} and ${env.NAME}, and the yarn-default/core-default values a YARN client
// needs apply when a key is unset. It also resolves ResourceManager addresses, with HA.
package hconf
