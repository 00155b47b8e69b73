package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the HTTP handler: /healthz, /metrics (Prometheus), and
// the API endpoint that STS,
// IAM and Organizations share (the request pipeline, internal/pipeline).
// Every other request, whatever its path or method (unknown paths, "*",
// paths a ServeMux would redirect), goes through the pipeline, so that it is
// answered as AWS would and audited.
func (s *Server) Handler() http.Handler {
	metrics := s.MetricsHandler()
	var discoveryPath, jwksPath string
	if s.issuer != nil {
		discoveryPath, jwksPath = urlPath(s.issuer.DiscoveryURL()), urlPath(s.issuer.JWKSURL())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.issuer != nil && r.Method == http.MethodGet && r.URL.RawQuery == "" {
			switch r.URL.Path {
			case discoveryPath:
				s.serveJSON(w, r, s.issuer.Discovery())
				return
			case jwksPath:
				set, err := s.issuer.JWKS(r.Context())
				if err != nil {
					s.log.Error("serve the issuer's JWKS", "error", err)
					http.Error(w, "keys unavailable", http.StatusServiceUnavailable)
					return
				}
				s.serveJSON(w, r, set)
				return
			}
		}
		switch r.URL.Path {
		case "/healthz":
			s.healthz(w, r)
		case "/metrics":
			if s.cfg.MetricsListen != "" {
				http.NotFound(w, r) // on its own listener (ServeMetrics)
				return
			}
			metrics.ServeHTTP(w, r)
		default:
			s.pipeline.ServeHTTP(w, r)
		}
	})
}

// urlPath is the path of an issuer URL the server built itself.
func urlPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "\x00" // never a request path
	}
	return p.Path
}

// serveJSON answers the issuer's public documents: cacheable for a short
// while, as OIDC relying parties cache them.
func (s *Server) serveJSON(w http.ResponseWriter, _ *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b) // the client may be gone
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n")) // the client may be gone; nothing to do about it
}

// MetricsHandler serves the Prometheus exposition (unauthenticated, as
// Prometheus scrapes; its labels carry no secret).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry(), promhttp.HandlerOpts{})
}

// ServeMetrics serves GET /metrics alone on ln (--metrics-listen) until ctx
// ends.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.MetricsHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	return serveUntil(ctx, hs, ln, 5*time.Second)
}
