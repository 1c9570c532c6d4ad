package fsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke/internal/hadoop/datatransfer"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

// clientProtocol is the NameNode's client protocol, named in the connection context.
const clientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// nnPrincipalKey names the NameNode's Kerberos principal (with _HOST for the host).
const nnPrincipalKey = "dfs.namenode.kerberos.principal"

// hdfsDelegationToken is the kind of an HDFS delegation token.
const hdfsDelegationToken = "HDFS_DELEGATION_TOKEN"

// Options builds colinmarc/hdfs client options for the NameNodes of authority ("" means
// fs.defaultFS) from a Hadoop configuration. On a Kerberos cluster the process
// authenticates, in this order:
//   - with the Kerberos login from a keytab, when one is configured (UseKerberos, or
//     STOKE_KERBEROS_PRINCIPAL and STOKE_KERBEROS_KEYTAB): colinmarc/hdfs's NameNode
//     connections run through an ipc.Tunnel that does the SASL GSSAPI exchange with it;
//   - with an HDFS delegation token for the NameNode from the container's token file
//     (HADOOP_TOKEN_FILE_LOCATION), as YARN containers of an application submitted from a
//     ticket cache must: colinmarc/hdfs cannot use tokens, so its NameNode connections run
//     through an ipc.Tunnel that authenticates with the token;
//   - with the ticket cache (KRB5CCNAME), through the same GSSAPI tunnel.
//
// Through a tunnel, every request and reply after the handshake is wrapped at the
// negotiated protection (hadoop.rpc.protection integrity or privacy).
//
// With dfs.data.transfer.protection, DataNode connections run Stoke's SASL handshake and
// security layer (package datatransfer) rather than colinmarc/hdfs's.
//
// With a Kerberos login, the connections act for the user of UseProxyUser if one is set.
func Options(conf hadoopconf.HadoopConf, authority string) (Settings, error) {
	opts, login, tokens, err := options(conf, authority)
	set := Settings{Client: opts, Login: login, TokenFile: tokens, NameNodePrincipal: conf[nnPrincipalKey], NameNodePrincipalPattern: conf[nnPrincipalKey+".pattern"]}
	if p := ProxyUser(); err == nil && p != "" && login != nil {
		return set.Impersonate(p)
	}
	return set, err
}

// NewHDFSClient connects a colinmarc/hdfs client to the NameNodes of authority ("" means
// fs.defaultFS) with the Options of conf. The settings are returned even when connecting fails.
func NewHDFSClient(conf hadoopconf.HadoopConf, authority string) (*hdfs.Client, Settings, error) {
	return NewHDFSClientAs(conf, authority, "")
}

// NewHDFSClientAs is NewHDFSClient acting for proxyUser (Hadoop impersonation, see
// Settings.Impersonate); "" acts as the login itself.
func NewHDFSClientAs(conf hadoopconf.HadoopConf, authority, proxyUser string) (*hdfs.Client, Settings, error) {
	set, err := Options(conf, authority)
	if err != nil {
		return nil, set, err
	}
	if proxyUser != "" && set.ProxyUser != proxyUser {
		if set, err = set.Impersonate(proxyUser); err != nil {
			return nil, set, err
		}
	}
	client, err := hdfs.NewClient(set.Client)
	if err != nil {
		return nil, set, fmt.Errorf("connecting to HDFS at %v: %w", set.Client.Addresses, err)
	}
	// colinmarc/hdfs caches the server defaults in its Client without a lock the first time
	// a file is opened or created; fetching them now keeps parallel users from racing there.
	if _, err := client.ServerDefaults(); err != nil {
		client.Close()
		return nil, set, fmt.Errorf("connecting to HDFS at %v: %w", set.Client.Addresses, err)
	}
	return client, set, nil
}

// Settings are how a process reaches one HDFS namespace.
type Settings struct {
	// Client are the colinmarc/hdfs options.
	Client hdfs.ClientOptions
	// Login is the Kerberos login NameNode connections use; nil without Kerberos or with a
	// delegation token.
	Login *krb.Login
	// TokenFile holds the delegation token NameNode connections use, "" when none is used.
	TokenFile string
	// NameNodePrincipal is dfs.namenode.kerberos.principal.
	NameNodePrincipal string
	// NameNodePrincipalPattern is dfs.namenode.kerberos.principal.pattern, "" when unset.
	NameNodePrincipalPattern string
	// ProxyUser is the user NameNode connections act for (Impersonate), "" for the login's.
	ProxyUser string
}

// Impersonate makes NameNode connections act for user, with the Kerberos login as the real
// user: the NameNode allows it or not by its hadoop.proxyuser.<login's short name>.* rules.
// It needs a Kerberos login: a delegation token names its own user, and without Kerberos
// the cluster takes whatever user a client names (HADOOP_USER_NAME).
func (s Settings) Impersonate(user string) (Settings, error) {
	if s.Login == nil {
		how := "the cluster does not use Kerberos (set HADOOP_USER_NAME instead: without Kerberos it takes the user a client names)"
		if s.TokenFile != "" {
			how = "HDFS is reached with a delegation token, which names its own user"
		}
		return s, fmt.Errorf("cannot act for proxy user %q: %s", user, how)
	}
	a := gssapiAuth(s.Login, s.NameNodePrincipal, s.NameNodePrincipalPattern)
	a.ProxyUser = user
	s.ProxyUser = user
	s.Client.User = user // dropped by the tunnel, which names the proxy user
	s.Client.NamenodeDialFunc = kerberosDialer(a)
	return s, nil
}

// RPCAuth is what Stoke's own NameNode calls (ipc) authenticate with: nothing (SIMPLE),
// the Kerberos login, or the delegation token.
func (s Settings) RPCAuth() ([]ipc.Authenticator, error) {
	switch {
	case s.TokenFile != "":
		creds, err := tokenfile.Read(s.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading the container's tokens: %w", err)
		}
		return []ipc.Authenticator{&ipc.TokenAuth{Tokens: creds.TokenList(), Kind: hdfsDelegationToken}}, nil
	case s.Login != nil:
		a := gssapiAuth(s.Login, s.NameNodePrincipal, s.NameNodePrincipalPattern)
		a.ProxyUser = s.ProxyUser
		return []ipc.Authenticator{a}, nil
	}
	return nil, nil
}

func options(conf hadoopconf.HadoopConf, authority string) (hdfs.ClientOptions, *krb.Login, string, error) {
	opts := hdfs.ClientOptionsFromConf(conf)
	if authority != "" {
		opts.Addresses = []string{authority}
	}
	if len(opts.Addresses) == 0 {
		return opts, nil, "", errors.New("hdfs:/// names no namenode and HADOOP_CONF_DIR sets no fs.defaultFS")
	}
	if p := conf["dfs.data.transfer.protection"]; p != "" && !strings.EqualFold(conf["dfs.encrypt.data.transfer"], "true") {
		qops, err := datatransfer.QOPs(p)
		if err != nil {
			return opts, nil, "", err
		}
		d := &datatransfer.Dialer{QOP: qops, SkipPrivilegedPorts: true}
		opts.DataTransferProtection = ""
		opts.DatanodeDialFunc = d.DialContext
	}
	if opts.KerberosClient == nil {
		opts.User = HadoopUser()
		return opts, nil, "", nil
	}
	noToken := "" // the container's token file, which holds no token for this NameNode
	if _, keytab := KerberosKeytab(); keytab == "" {
		if path := os.Getenv("HADOOP_TOKEN_FILE_LOCATION"); path != "" {
			noToken = path
			creds, err := tokenfile.Read(path)
			if err != nil {
				return opts, nil, "", fmt.Errorf("reading the container's tokens: %w", err)
			}
			if tok := tokenFor(creds.TokenList(), opts.Addresses); tok != nil {
				opts.KerberosClient = nil
				opts.User = HadoopUser() // dropped by the tunnel: the token names the user
				opts.NamenodeDialFunc = tokenDialer(path)
				return opts, nil, path, nil
			}
		}
	}
	login, err := kerberosLogin()
	if err != nil && noToken != "" {
		return opts, nil, "", fmt.Errorf("no HDFS delegation token for %s among the container's tokens (%s), and no Kerberos login (%v): the application was submitted without a token of this file system; list it in stoke.kerberos.access.hadoopFileSystems",
			strings.Join(opts.Addresses, ", "), noToken, err)
	}
	if err != nil {
		return opts, nil, "", fmt.Errorf("the Hadoop configuration asks for Kerberos (hadoop.security.authentication=kerberos): %w", err)
	}
	if conf[nnPrincipalKey] == "" && conf[nnPrincipalKey+".pattern"] == "" {
		return opts, nil, "", fmt.Errorf("the Hadoop configuration asks for Kerberos (hadoop.security.authentication=kerberos) but names no NameNode principal (%s): without it the NameNode cannot be authenticated", nnPrincipalKey)
	}
	// colinmarc/hdfs's own Kerberos transport unwraps replies but sends requests in the
	// clear, so its NameNode connections run through an ipc.Tunnel that authenticates with
	// the login (SASL GSSAPI) and wraps both directions at integrity and privacy.
	opts.KerberosClient = nil
	opts.User = login.ShortName() // dropped by the tunnel: the login names the user
	opts.NamenodeDialFunc = kerberosDialer(gssapiAuth(login, conf[nnPrincipalKey], conf[nnPrincipalKey+".pattern"]))
	return opts, login, "", nil
}

// gssapiAuth authenticates NameNode connections as login; the NameNode must present
// principal (dfs.namenode.kerberos.principal, _HOST expanded), or match pattern when set.
func gssapiAuth(login *krb.Login, principal, pattern string) *krb.GSSAPIAuth {
	return &krb.GSSAPIAuth{Login: login, ServerPrincipal: principal, ServerPrincipalPattern: pattern}
}

// kerberosDialer opens NameNode connections authenticated with a Kerberos login.
func kerberosDialer(auth *krb.GSSAPIAuth) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		return ipc.Tunnel(ctx, addr, ipc.Config{Protocol: clientProtocol, Auth: []ipc.Authenticator{auth}})
	}
}

// tokenFor is the delegation token for one of the NameNode addresses, nil if none.
func tokenFor(tokens []*commonpb.Token, addrs []string) *commonpb.Token {
	for _, a := range addrs {
		if t := ipc.SelectToken(tokens, hdfsDelegationToken, a, false); t != nil {
			return t
		}
	}
	return nil
}

// tokenDialer opens NameNode connections authenticated with the delegation token of the
// token file, read again at each dial so that a refreshed file is used.
func tokenDialer(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		creds, err := tokenfile.Read(path)
		if err != nil {
			return nil, fmt.Errorf("reading the container's tokens: %w", err)
		}
		auth := &ipc.TokenAuth{Tokens: creds.TokenList(), Kind: hdfsDelegationToken}
		return ipc.Tunnel(ctx, addr, ipc.Config{Protocol: clientProtocol, Auth: []ipc.Authenticator{auth}})
	}
}
