package pipeline

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-endpoint/endpoint/registry"
)

// Metrics are the per-endpoint series on Caddy's admin /metrics.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	steps      *prometheus.HistogramVec
	limits     *prometheus.CounterVec
	rejections *prometheus.CounterVec

	// byEndpoint caches the series of each endpoint (*endpointMetrics), so
	// that the request path does not hash label values.
	byEndpoint sync.Map
}

// endpointMetrics are the series of one endpoint.
type endpointMetrics struct {
	name       string
	vec        *prometheus.CounterVec
	byClass    [7]atomic.Pointer[prometheus.Counter]
	duration   prometheus.Observer
	steps      prometheus.Observer
	rejections prometheus.Counter
}

// of returns the series of the endpoint name.
func (m *Metrics) of(name string) *endpointMetrics {
	if em, ok := m.byEndpoint.Load(name); ok {
		return em.(*endpointMetrics)
	}
	em := &endpointMetrics{
		name:       name,
		vec:        m.requests,
		duration:   m.duration.WithLabelValues(name),
		steps:      m.steps.WithLabelValues(name),
		rejections: m.rejections.WithLabelValues(name),
	}
	actual, _ := m.byEndpoint.LoadOrStore(name, em)
	return actual.(*endpointMetrics)
}

// requests is the request counter of the status class of code.
func (em *endpointMetrics) requests(code int) prometheus.Counter {
	i := code / 100
	if i < 1 || i > 5 {
		i = 6
	}
	if c := em.byClass[i].Load(); c != nil {
		return *c
	}
	c := em.vec.WithLabelValues(em.name, statusClass(code))
	em.byClass[i].Store(&c)
	return c
}

func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns, sub = "caddy", "endpoint"
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Requests served by endpoint and status class.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time to serve a request, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"endpoint"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "snippet_steps",
			Help:    "Starlark execution steps used per run, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(10, 10, 7),
		}, []string{"endpoint"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "snippet_limit_failures_total",
			Help: "Snippet runs stopped by the step budget or the time limit, by endpoint and kind.",
		}, []string{"endpoint", "kind"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "schema_rejections_total",
			Help: "Request bodies refused by the endpoint's schema, by endpoint.",
		}, []string{"endpoint"}),
	}
	compiled := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "compilations_total",
		Help: "Code compilations by exec modes in this process (writes, syncs and reloads of changed records).",
	}, func() float64 { return float64(registry.Compilations()) })
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.steps, m.limits, m.rejections, compiled} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// statusClass turns 404 into "4xx".
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
