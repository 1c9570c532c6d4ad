package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// prefixProxy serves the UI at base under prefix, as the YARN
// ResourceManager's proxy (/proxy/<application>/) or a reverse proxy
// does: the prefix is stripped before the request reaches the UI, and
// nothing is rewritten in the pages.
func prefixProxy(t *testing.T, base, prefix string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = "/" + strings.TrimPrefix(r.In.URL.Path, prefix)
		r.Out.URL.RawPath = ""
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.Error(w, "outside the proxied application: "+r.URL.Path, http.StatusNotFound)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pageLinks returns the links of an HTML page, resolved as a browser
// resolves them: against the page's <base>, itself against the page's URL.
func pageLinks(t *testing.T, page *url.URL, body string) []*url.URL {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	base := page
	var hrefs []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch {
				case n.Data == "base" && a.Key == "href":
					b, err := page.Parse(a.Val)
					if err != nil {
						t.Fatalf("%s: <base href=%q>: %v", page, a.Val, err)
					}
					base = b
				case (n.Data == "a" || n.Data == "link") && a.Key == "href", n.Data == "form" && a.Key == "action":
					hrefs = append(hrefs, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var out []*url.URL
	for _, h := range hrefs {
		u, err := base.Parse(h)
		if err != nil {
			t.Errorf("%s: link %q: %v", page, h, err)
			continue
		}
		out = append(out, u)
	}
	return out
}

// Behind a path-prefix proxy every page and every link of the UI stays
// under the prefix and answers 200 (they were absolute, /jobs/, and left
// the proxy).
func TestUIWorksBehindAPathPrefixProxy(t *testing.T) {
	srv := startServer(t, scenarioStore())
	const prefix = "/proxy/application_1700000000000_0001/"
	proxy := prefixProxy(t, srv.URL(), prefix)
	start, _ := url.Parse(proxy.URL + prefix)
	seen := map[string]bool{}
	queue := []*url.URL{start}
	for len(queue) > 0 && len(seen) < 300 {
		u := queue[0]
		queue = queue[1:]
		u.Fragment = ""
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		if !strings.HasPrefix(u.Path, prefix) {
			t.Errorf("a link leaves the proxy: %s", u)
			continue
		}
		resp, err := http.Get(u.String()) // follows the UI's redirects
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", u, resp.Status)
			continue
		}
		final := resp.Request.URL
		if !strings.HasPrefix(final.Path, prefix) {
			t.Errorf("%s redirected out of the proxy to %s", u, final)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, l := range pageLinks(t, final, string(body)) {
			if l.Host == final.Host && !seen[l.String()] {
				queue = append(queue, l)
			}
		}
	}
	if len(seen) < 10 {
		t.Fatalf("only %d pages reached through the proxy: %v", len(seen), seen)
	}
}

// The control: the crawler resolves links as a browser does, so an
// absolute link on a proxied page is seen leaving the prefix.
func TestPageLinksResolveAgainstBase(t *testing.T) {
	page, _ := url.Parse("http://proxy/proxy/app/stages/stage/?id=1")
	got := pageLinks(t, page, `<html><head><base href="../../"></head><body><a href="jobs/">j</a><a href="/jobs/">abs</a></body></html>`)
	if len(got) != 2 || got[0].Path != "/proxy/app/jobs/" || got[1].Path != "/jobs/" {
		t.Fatalf("links resolved to %v", got)
	}
}
