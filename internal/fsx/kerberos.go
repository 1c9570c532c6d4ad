package fsx

import (
	"os"
	"sync"

	"github.com/stoke-run/stoke/internal/hadoop/krb"
)

// Environment of a Kerberos login for HDFS when no code chose one: a
// principal and keytab, else the ticket cache (KRB5CCNAME), with krb5.conf
// from KRB5_CONFIG or /etc/krb5.conf.
const (
	EnvPrincipal = "STOKE_KERBEROS_PRINCIPAL"
	EnvKeytab    = "STOKE_KERBEROS_KEYTAB"
)

var (
	krbMu    sync.Mutex
	krbOpts  *krb.LoginOptions
	krbLogin *krb.Login
	// proxyUser is the user HDFS connections act for (UseProxyUser).
	proxyUser string
)

// UseKerberos sets the login secure HDFS connections use (stoke.kerberos.principal
// and stoke.kerberos.keytab); connections made afterwards use it.
func UseKerberos(o krb.LoginOptions) {
	krbMu.Lock()
	defer krbMu.Unlock()
	krbOpts, krbLogin = &o, nil
}

// UseProxyUser makes the HDFS connections this process opens afterwards act for user (Hadoop
// impersonation by the Kerberos login, see Settings.Impersonate), as a client-mode driver
// submitted with --proxy-user must; "" acts as the login again.
func UseProxyUser(user string) {
	krbMu.Lock()
	defer krbMu.Unlock()
	proxyUser = user
}

// ProxyUser is the user set by UseProxyUser, "" for none.
func ProxyUser() string {
	krbMu.Lock()
	defer krbMu.Unlock()
	return proxyUser
}

// KerberosLogin is the login secure HDFS connections use (logging in on first use).
func KerberosLogin() (*krb.Login, error) { return kerberosLogin() }

// KerberosKeytab is the principal and keytab of a keytab login, "" for a
// ticket-cache login.
func KerberosKeytab() (principal, keytab string) {
	krbMu.Lock()
	defer krbMu.Unlock()
	if krbOpts != nil {
		return krbOpts.Principal, krbOpts.Keytab
	}
	return os.Getenv(EnvPrincipal), os.Getenv(EnvKeytab)
}

func kerberosLogin() (*krb.Login, error) {
	krbMu.Lock()
	defer krbMu.Unlock()
	if krbLogin != nil {
		return krbLogin, nil
	}
	o := krb.LoginOptions{Principal: os.Getenv(EnvPrincipal), Keytab: os.Getenv(EnvKeytab)}
	if krbOpts != nil {
		o = *krbOpts
	}
	l, err := krb.NewLogin(o)
	if err != nil {
		return nil, err
	}
	krbLogin = l
	return l, nil
}
