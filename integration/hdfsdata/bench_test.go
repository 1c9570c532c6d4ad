package hdfsdata

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
)

// BenchmarkSecureHDFS writes and reads a 64 MiB file on a Kerberos minicluster at each
// dfs.data.transfer.protection level, through fsx's client (Stoke's DataNode SASL layer
// under colinmarc/hdfs): the cost of integrity (HMAC-MD5) and privacy (RC4 and HMAC-MD5)
// over plain authentication. One minicluster per level.
func BenchmarkSecureHDFS(b *testing.B) {
	for _, level := range []string{"authentication", "integrity", "privacy"} {
		b.Run(level, func(b *testing.B) {
			cluster := hadooptest.StartWith(b, hadooptest.Options{Secure: level})
			for _, kv := range cluster.Env() {
				k, v, _ := strings.Cut(kv, "=")
				b.Setenv(k, v)
			}
			b.Setenv("KRB5_CONFIG", cluster.KDC.Krb5Conf)
			b.Setenv("KRB5CCNAME", "FILE:"+cluster.KDC.Kinit(b, cluster.UserPrincipal, cluster.UserKeytab))
			fsx.UseKerberos(krb.LoginOptions{}) // a new KDC for each level: log in again
			conf, err := hadoopconf.LoadFromEnvironment()
			if err != nil {
				b.Fatal(err)
			}
			client, _, err := fsx.NewHDFSClient(conf, "")
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
			p := "/tmp/stoke-bench-" + level
			b.Run("write", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					client.Remove(p)
					w, err := client.Create(p)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(data); err != nil {
						b.Fatal(err)
					}
					if err := closeReplicated(w); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("read", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					r, err := client.Open(p)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, r)
					r.Close()
					if err != nil || n != int64(len(data)) {
						b.Fatalf("read %d bytes: %v", n, err)
					}
				}
			})
		})
	}
}

// closeReplicated closes w, retrying while the NameNode waits for the last block's replicas.
func closeReplicated(w *hdfs.FileWriter) error {
	for i := 0; ; i++ {
		err := w.Close()
		if !hdfs.IsErrReplicating(err) || i == 100 {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
