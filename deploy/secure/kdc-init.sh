#!/usr/bin/env bash
# The KDC of the docker-compose yarn-secure profile (a debian:bookworm
# container). It creates the STOKE.LOCAL realm on first start, the service
# principals of the Hadoop containers and the stoke user principal, writes
# their keytabs to the shared keytab volume (/keytabs) once the KDC answers,
# and then keeps running krb5kdc in the foreground.
#
# Development only: the database master password is fixed below and every
# keytab is readable by uid 1000 (the apache/hadoop image's `hadoop` user,
# which runs all the Hadoop daemons).
set -euo pipefail

REALM=STOKE.LOCAL
# The paths and the port can be moved (to try the script outside a container).
KEYTAB_DIR=${KEYTAB_DIR:-/keytabs}
DB_DIR=${KDC_DB_DIR:-/var/lib/krb5kdc}
KDC_PORT=${KDC_PORT:-88}
HADOOP_UID=${HADOOP_UID:-1000}
export KRB5_CONFIG=${KRB5_CONFIG:-/etc/krb5.conf}
export KRB5_KDC_PROFILE=${KRB5_KDC_PROFILE:-/etc/krb5kdc/kdc.conf}

# One keytab per line: the file (in $KEYTAB_DIR) and the principals it holds
# (without the realm). Each Hadoop daemon also gets HTTP/<its host> in its
# keytab, for the SPNEGO filter secure HDFS web servers set up.
KEYTABS=(
  "nn.service.keytab nn/namenode-secure HTTP/namenode-secure"
  "dn.service.keytab dn/datanode-secure HTTP/datanode-secure"
  "rm.service.keytab rm/resourcemanager-secure HTTP/resourcemanager-secure"
  "nm.service.keytab nm/nodemanager-secure HTTP/nodemanager-secure"
  "stoke.keytab stoke"
)

# The image is plain debian:bookworm: install the MIT KDC on first start.
if ! command -v krb5kdc >/dev/null || ! command -v kadmin.local >/dev/null; then
  # No init system here: keep the packages from starting their services.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends krb5-kdc krb5-admin-server
fi

acl_file=$(dirname "$KRB5_KDC_PROFILE")/kadm5.acl
mkdir -p "$(dirname "$KRB5_KDC_PROFILE")" "$DB_DIR" "$KEYTAB_DIR"
cat >"$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
  kdc_ports = $KDC_PORT
  kdc_tcp_ports = $KDC_PORT

[realms]
  $REALM = {
    database_name = $DB_DIR/principal
    key_stash_file = $DB_DIR/.k5.$REALM
    acl_file = $acl_file
    max_life = 10h 0m 0s
    max_renewable_life = 7d 0h 0m 0s
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
EOF
touch "$acl_file"

# The compose healthcheck waits for this marker: a restarted KDC sets it
# again only once it answers.
rm -rf "$KEYTAB_DIR/.ready" "$KEYTAB_DIR"/.staging.*

if [ ! -e "$DB_DIR/principal" ]; then
  echo "kdc-init: creating realm $REALM"
  kdb5_util create -s -r "$REALM" -P stoke-dev-master-password
fi
# Principals missing from the database (all of them on first start).
for entry in "${KEYTABS[@]}"; do
  read -r -a words <<<"$entry"
  for principal in "${words[@]:1}"; do
    info=$(kadmin.local -q "getprinc $principal@$REALM" 2>&1 || true)
    if ! grep -q "^Principal: $principal@$REALM\$" <<<"$info"; then
      kadmin.local -q "addprinc -randkey $principal@$REALM"
    fi
  done
done

# Export every keytab to a staging directory first (-norandkey keeps the
# keys, so keytabs from an earlier start stay valid), then move them into
# place once krb5kdc accepts connections.
staging=$(mktemp -d "$KEYTAB_DIR/.staging.XXXXXX")
for entry in "${KEYTABS[@]}"; do
  read -r -a words <<<"$entry"
  file=${words[0]}
  for principal in "${words[@]:1}"; do
    kadmin.local -q "ktadd -norandkey -k $staging/$file $principal@$REALM"
  done
  chown "$HADOOP_UID:$HADOOP_UID" "$staging/$file"
  chmod 0400 "$staging/$file"
done

publish() {
  until (exec 3<>/dev/tcp/127.0.0.1/"$KDC_PORT") 2>/dev/null; do sleep 1; done
  for entry in "${KEYTABS[@]}"; do
    read -r -a words <<<"$entry"
    mv -f "$staging/${words[0]}" "$KEYTAB_DIR/${words[0]}"
  done
  rmdir "$staging"
  touch "$KEYTAB_DIR/.ready"
  echo "kdc-init: keytabs published in $KEYTAB_DIR"
}
publish &

echo "kdc-init: starting krb5kdc for $REALM"
exec krb5kdc -n
