package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
