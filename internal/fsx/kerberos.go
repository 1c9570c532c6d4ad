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
)

// UseKerberos sets the login secure HDFS connections use (stoke.kerberos.principal
// and stoke.kerberos.keytab); connections made afterwards use it.
func UseKerberos(o krb.LoginOptions) {
	krbMu.Lock()
	defer krbMu.Unlock()
	krbOpts, krbLogin = &o, nil
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
