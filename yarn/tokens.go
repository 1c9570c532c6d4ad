package yarn

import (
	"context"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

// refreshTokens keeps the HDFS delegation token executors get fresh: with a keytab, the
// AM obtains a new token when three quarters of the current one's lifetime have passed, so
// containers started after the first token's maximum lifetime can still be localized.
func (m *am) refreshTokens(ctx context.Context) {
	for {
		var cur *commonpb.Token
		m.mu.Lock()
		for _, t := range m.creds.Tokens {
			if t.Token.GetKind() == "HDFS_DELEGATION_TOKEN" {
				cur = t.Token
			}
		}
		m.mu.Unlock()
		if cur == nil {
			return
		}
		issued, expires, err := tokenfile.DelegationTokenTimes(cur)
		if err != nil {
			m.log.WithError(err).Warn("cannot schedule delegation token refreshes")
			return
		}
		wait := time.Until(issued.Add(expires.Sub(issued) * 3 / 4))
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, time.Second)):
		}
		cl, err := NewClient(m.log)
		if err == nil {
			var tok *commonpb.Token
			tok, err = cl.hdfsDelegationToken(ctx)
			cl.Close()
			if err == nil {
				m.mu.Lock()
				m.creds.AddToken(tok.GetService(), tok)
				m.mu.Unlock()
				m.log.Info("obtained a new HDFS delegation token for executor containers")
				continue
			}
		}
		m.log.WithError(err).Warn("refreshing the HDFS delegation token; trying again in 10 s")
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}
