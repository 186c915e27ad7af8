package view

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rubric-eval/rubric/runner/history"
)

// Options say what a viewer shows and to whom.
type Options struct {
	// History is the run history; nil when there is none.
	History history.Store
	// Runs are run folders to show besides the history's runs; those the
	// history lacks are indexed in memory.
	Runs []string
	// Token, when set, must come with every request: as a cookie, which
	// a link with ?token=TOKEN sets. A viewer bound to another address
	// than loopback has one.
	Token string
	// Hosts, when set, are the only Host headers accepted: a page of
	// another site that a DNS name made to point at loopback is refused.
	Hosts []string
	// IndexAtStart indexes the run folders of Runs that the history lacks
	// as the viewer starts, one after the other in the background, rather
	// than when a page first wants their cases.
	IndexAtStart bool
	// MaxIndexBytes bounds the memory of the case indexes kept; 0 for
	// DefaultIndexBytes. The two last used are kept whatever their size.
	MaxIndexBytes int64
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// DefaultIndexBytes is the memory the case indexes may keep by default.
const DefaultIndexBytes = 64 << 20

// MemoryLimit is the soft memory limit rubric view sets for itself (unless
// GOMEMLIMIT sets one): the garbage collector then runs before the heap
// doubles, so that building a million-case index, which leaves garbage
// behind each result it decodes, stays under 100 MB. Past it (two such
// indexes held for a comparison) the collector works harder but the
// viewer goes on.
const MemoryLimit = 80 << 20

// Server is the viewer: an http.Handler.
type Server struct {
	opts    Options
	cat     *catalog
	pages   map[string]*template.Template
	csrf    string
	handler http.Handler
	// reviewMu serializes the writes of reviews.
	reviewMu sync.Mutex
}

// New reads the run folders of opts and makes a viewer.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.MaxIndexBytes == 0 {
		opts.MaxIndexBytes = DefaultIndexBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cat, err := openCatalog(ctx, opts.History, opts.Runs, opts.MaxIndexBytes)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, cat: cat, pages: pages, csrf: NewToken()}
	s.handler = s.routes()
	if opts.IndexAtStart {
		go func() {
			for _, fr := range cat.folders {
				if _, err := cat.index(ctx, fr.run.ID); err != nil && ctx.Err() != nil {
					return // stopped; another error shows on the run's pages
				}
			}
		}()
	}
	return s, nil
}

// NewToken returns a random token, 32 hex digits.
func NewToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on the systems Go supports
	}
	return hex.EncodeToString(b)
}

// ServeHTTP serves the viewer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// contentSecurityPolicy allows the page's own stylesheet and script and
// nothing else: no inline script or handler, no other site, no frame.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// tokenCookie carries the token.
const tokenCookie = "rubric_view_token"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.runsPage)
	mux.HandleFunc("GET /runs/{run}", s.runPage)
	mux.HandleFunc("GET /runs/{run}/cases", s.casesPage)
	mux.HandleFunc("GET /runs/{run}/case", s.casePage)
	mux.HandleFunc("POST /runs/{run}/review", s.review)
	mux.HandleFunc("GET /compare", s.comparePage)
	mux.HandleFunc("GET /compare/case", s.compareCasePage)
	mux.HandleFunc("GET /trend", s.trendPage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "a request from another site was refused")
	}))
	return s.secure(cop.Handler(mux))
}

// secure sets the security headers of every response, and refuses a
// request for another host or without the token.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if len(s.opts.Hosts) > 0 && !hostAllowed(r.Host, s.opts.Hosts) {
			http.Error(w, "rubric view: this server answers only to "+strings.Join(s.opts.Hosts, ", "), http.StatusMisdirectedRequest)
			return
		}
		if s.opts.Token != "" {
			if t := r.URL.Query().Get("token"); t != "" {
				if !sameToken(t, s.opts.Token) {
					http.Error(w, "rubric view: wrong token: open the link rubric view printed", http.StatusUnauthorized)
					return
				}
				http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.opts.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
				q := r.URL.Query()
				q.Del("token")
				u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
				http.Redirect(w, r, u.String(), http.StatusSeeOther)
				return
			}
			c, err := r.Cookie(tokenCookie)
			if err != nil || !sameToken(c.Value, s.opts.Token) {
				http.Error(w, "rubric view: this viewer needs its token: open the link rubric view printed, with ?token=", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func sameToken(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func hostAllowed(host string, hosts []string) bool {
	for _, h := range hosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// LoopbackHosts are the Host headers of a viewer listening on loopback at
// addr (127.0.0.1:PORT).
func LoopbackHosts(addr string) []string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	return []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port}
}

// Serve serves the viewer on ln until ctx ends, then shuts down, giving
// requests in flight a few seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
