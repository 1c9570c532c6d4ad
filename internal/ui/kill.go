package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Killer ends running work for the UI's kill buttons (the driver does).
type Killer interface {
	// KillJob fails job id with the reason; false if it is not running.
	KillJob(id int, reason string) bool
	// KillStage fails the running jobs that need stage id; false if none.
	KillStage(id int, reason string) bool
}

// WithKiller adds kill buttons to running jobs and stages. They POST a
// form that carries a token only the UI's own pages hold (a page of another
// site cannot forge it, and a cross-site request is refused by its
// Sec-Fetch-Site and Origin headers). With a non-empty secret (the
// application runs with a configured stoke.authenticate.secret) the POST
// also needs HTTP basic authentication with that secret as password.
func WithKiller(k Killer, secret string) Option {
	return func(s *Server) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		s.killer, s.killSecret, s.csrf = k, secret, hex.EncodeToString(b)
	}
}

// killPost checks a kill request and answers its error; ok when it may go on.
func (s *Server) killPost(w http.ResponseWriter, r *http.Request) (id int, ok bool) {
	if s.killer == nil {
		http.NotFound(w, r)
		return 0, false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "kill requests must come from the UI's own pages", http.StatusForbidden)
		return 0, false
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "kill requests must come from the UI's own pages", http.StatusForbidden)
			return 0, false
		}
	}
	if s.killSecret != "" {
		_, pass, okAuth := r.BasicAuth()
		if !okAuth || subtle.ConstantTimeCompare([]byte(pass), []byte(s.killSecret)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="stoke application (password: its secret)"`)
			http.Error(w, "killing needs the application's secret as password", http.StatusUnauthorized)
			return 0, false
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form: "+err.Error(), http.StatusBadRequest)
		return 0, false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(s.csrf)) != 1 {
		http.Error(w, "missing or wrong form token: reload the page and try again", http.StatusForbidden)
		return 0, false
	}
	id, err := strconv.Atoi(r.PostForm.Get("id"))
	if err != nil || id < 0 {
		http.Error(w, "id must be a non-negative integer", http.StatusBadRequest)
		return 0, false
	}
	return id, true
}

func (s *Server) killJob(w http.ResponseWriter, r *http.Request) {
	id, ok := s.killPost(w, r)
	if !ok {
		return
	}
	if !s.killer.KillJob(id, "killed from the web UI") {
		http.Error(w, "job "+strconv.Itoa(id)+" is not running", http.StatusConflict)
		return
	}
	w.Header().Set("Location", "../") // back to the jobs list, relative for proxies
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Server) killStage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.killPost(w, r)
	if !ok {
		return
	}
	if !s.killer.KillStage(id, "killed from the web UI") {
		http.Error(w, "stage "+strconv.Itoa(id)+" is not running", http.StatusConflict)
		return
	}
	w.Header().Set("Location", "../")
	w.WriteHeader(http.StatusSeeOther)
}

// Dumper fetches an executor's goroutine stacks (the driver does);
// ErrNoExecutor when there is no such live executor.
type Dumper func(ctx context.Context, executorID string) (string, error)

// WithDumper adds a "stack" link to each active executor, serving its
// goroutine stacks as text (read only).
func WithDumper(d Dumper, unknown error) Option {
	return func(s *Server) { s.dumper, s.unknownExec = d, unknown }
}

func (s *Server) stackDump(w http.ResponseWriter, r *http.Request) {
	if s.dumper == nil {
		http.NotFound(w, r)
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > 200 {
		http.Error(w, "id must name an executor", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	text, err := s.dumper(ctx, id)
	switch {
	case err != nil && s.unknownExec != nil && errors.Is(err, s.unknownExec):
		http.Error(w, "no live executor "+id, http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(text))
}
