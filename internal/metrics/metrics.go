// Package metrics holds the gateway's Prometheus metrics. Every method is
// safe on a nil *Metrics, so code under test need not set one up.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's metrics, in their own registry.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	actionDuration *prometheus.HistogramVec
	deliveries     *prometheus.CounterVec
	deliveryTime   *prometheus.HistogramVec
}

// Gauges reads values that are measured when scraped.
type Gauges interface {
	// DeliveryLag is the age of the oldest pending delivery (zero if none).
	DeliveryLag(ctx context.Context) (time.Duration, error)
	// PendingJobs counts jobs waiting to run.
	PendingJobs(ctx context.Context) (int64, error)
}

// New registers the gateway's metrics, plus Go runtime and process metrics.
func New(g Gauges) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metagov_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "metagov_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	m.actionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "metagov_action_duration_seconds", Help: "Action latency by plugin, action and outcome.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 30},
	}, []string{"plugin", "action", "outcome"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metagov_delivery_attempts_total", Help: "Delivery attempts by kind and outcome (succeeded, retry, failed).",
	}, []string{"kind", "outcome"})
	m.deliveryTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "metagov_delivery_latency_seconds", Help: "Time from a delivery's creation to its successful attempt.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 14),
	}, []string{"kind"})
	m.registry.MustRegister(m.httpRequests, m.httpDuration, m.actionDuration, m.deliveries, m.deliveryTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if g != nil {
		m.registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "metagov_delivery_lag_seconds", Help: "Age of the oldest pending delivery.",
			}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				lag, _ := g.DeliveryLag(ctx)
				return lag.Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "metagov_jobs_pending", Help: "Jobs waiting to run (deliveries, timers, polls).",
			}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, _ := g.PendingJobs(ctx)
				return float64(n)
			}),
		)
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// HTTPRequest records one served request; route is the matched pattern,
// empty for a request no route matched. Labels come only from bounded sets,
// so that no client can add series: the route patterns, the standard
// methods (any other is "OTHER") and the status codes the API writes.
func (m *Metrics) HTTPRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		method = "OTHER"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// Action records one action's latency; outcome is "ok" or an error code.
func (m *Metrics) Action(plugin, action, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.actionDuration.WithLabelValues(plugin, action, outcome).Observe(d.Seconds())
}

// DeliveryAttempt records one delivery attempt; outcome is "succeeded",
// "retry" or "failed". age is the delivery's age when it succeeded.
func (m *Metrics) DeliveryAttempt(kind, outcome string, age time.Duration) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(kind, outcome).Inc()
	if outcome == "succeeded" {
		m.deliveryTime.WithLabelValues(kind).Observe(age.Seconds())
	}
}
