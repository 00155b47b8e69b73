package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the HTTP handler: /healthz, /metrics (Prometheus), and
// the API endpoint that STS,
// IAM and Organizations share (the request pipeline, internal/pipeline).
// Every other request, whatever its path or method (unknown paths, "*",
// paths a ServeMux would redirect), goes through the pipeline, so that it is
// answered as AWS would and audited.
func (s *Server) Handler() http.Handler {
	metrics := promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			s.healthz(w, r)
		case "/metrics":
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
