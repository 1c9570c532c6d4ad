package yarn

import (
	"context"
	"sync"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

// nextTokenStep plans the AM's next step for the HDFS delegation token that new containers
// get: the token was issued at issued, can live until max, and stops working at expiry unless
// renewed first. The AM wakes at three quarters of the time the token has left (to renew it)
// or, when that would come after three quarters of its whole lifetime, then, to obtain a new
// one. The wake-up is at least a second away.
func nextTokenStep(now, issued, max, expiry time.Time) (wake time.Time, obtain bool) {
	replace := issued.Add(max.Sub(issued) * 3 / 4)
	renew := now.Add(expiry.Sub(now) * 3 / 4)
	wake, obtain = renew, false
	if !renew.Before(replace) {
		wake, obtain = replace, true
	}
	if earliest := now.Add(time.Second); wake.Before(earliest) {
		wake = earliest
	}
	return wake, obtain
}

// refreshTokens keeps the HDFS delegation tokens of executors valid, fs.defaultFS's and
// those of stoke.kerberos.access.hadoopFileSystems alike, each on its own schedule: new
// containers get them in their launch context (so they can still be localized after the
// submission's token ended) and running executors through the driver (the events API). It
// runs with a keytab. A submission's token is renewed by the RM until its maximum lifetime;
// near that, the AM obtains a new token from the same NameNode (renewer: its own user) and,
// since the RM does not know that one, renews it itself before each renewal interval ends,
// until it too is replaced.
func (m *am) refreshTokens(ctx context.Context) {
	var services []string
	m.mu.Lock()
	for _, t := range m.creds.Tokens {
		if t.Token.GetKind() == "HDFS_DELEGATION_TOKEN" {
			services = append(services, t.Alias)
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.refreshToken(ctx, svc)
		}()
	}
	wg.Wait()
}

// refreshToken keeps the HDFS delegation token under alias svc (its NameNode's ip:port) valid.
func (m *am) refreshToken(ctx context.Context, svc string) {
	log := m.log.WithField("namenode", svc)
	ours := false // the current token was obtained here (else the RM renews it)
	for {
		var cur *commonpb.Token
		m.mu.Lock()
		for _, t := range m.creds.Tokens {
			if t.Alias == svc && t.Token.GetKind() == "HDFS_DELEGATION_TOKEN" {
				cur = t.Token
			}
		}
		m.mu.Unlock()
		if cur == nil {
			return
		}
		issued, max, err := tokenfile.DelegationTokenTimes(cur)
		if err != nil {
			log.WithError(err).Warn("cannot schedule delegation token refreshes")
			return
		}
		obtain := false
		expiry := max
		if ours {
			err = m.withClient(func(cl *Client) (err error) {
				expiry, err = cl.renewHDFSToken(ctx, cur)
				return err
			})
			if err != nil {
				// A token that cannot be renewed is replaced at once.
				log.WithError(err).Warn("renewing the HDFS delegation token; obtaining a new one")
				obtain = true
			}
		}
		if !obtain {
			var wake time.Time
			wake, obtain = nextTokenStep(time.Now(), issued, max, expiry)
			if !sleepCtx(ctx, time.Until(wake)) {
				return
			}
			if !obtain {
				continue
			}
		}
		var tok *commonpb.Token
		err = m.withClient(func(cl *Client) (err error) {
			tok, err = cl.hdfsDelegationTokenAt(ctx, svc, cl.login.Principal())
			return err
		})
		if err != nil {
			log.WithError(err).Warn("obtaining a new HDFS delegation token; trying again in 10 s")
			if !sleepCtx(ctx, 10*time.Second) {
				return
			}
			continue
		}
		m.mu.Lock()
		m.creds.AddToken(svc, tok)
		m.credsVer++
		m.notifyLocked() // the driver passes it on to running executors
		m.mu.Unlock()
		ours = true
		log.Info("obtained a new HDFS delegation token for executor containers")
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// withClient runs f with a fresh client (logged in from the keytab).
func (m *am) withClient(f func(*Client) error) error {
	cl, err := NewClient(m.log)
	if err != nil {
		return err
	}
	defer cl.Close()
	return f(cl)
}
