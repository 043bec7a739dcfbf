package pipeline

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-endpoint/endpoint/registry"
)

// Metrics are the per-endpoint series on Caddy's admin /metrics, and the
// gauges of the registry.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	steps      *prometheus.HistogramVec
	limits     *prometheus.CounterVec
	rejections *prometheus.CounterVec
	refused    *prometheus.CounterVec
	circuit    *prometheus.GaugeVec

	// byEndpoint caches the series of each endpoint (*endpointMetrics), so
	// that the request path does not hash label values.
	byEndpoint sync.Map

	// reg, when set, is the registry whose live table the per-endpoint
	// series follow; pruned is the table they were last pruned for.
	reg    *registry.Registry
	pruned atomic.Pointer[registry.Table]
}

// endpointMetrics are the series of one endpoint.
type endpointMetrics struct {
	name       string
	vec        *prometheus.CounterVec
	byCode     sync.Map // int → prometheus.Counter
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

// requests is the request counter of the status code, labelled as
// Caddy's caddy_http_requests_total labels it ("200", "404").
func (em *endpointMetrics) requests(code int) prometheus.Counter {
	if c, ok := em.byCode.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c := em.vec.WithLabelValues(em.name, strconv.Itoa(code))
	em.byCode.Store(code, c)
	return c
}

// The namespace and subsystem of the metrics: caddy_endpoint_*.
const (
	metricNS  = "caddy"
	metricSub = "endpoint"
)

// NewMetrics registers the series with reg. With a registry r it also
// registers the gauges of its live revision, pending drafts and
// unservable records, and drops the series of an endpoint once the live
// table no longer serves it.
func NewMetrics(reg prometheus.Registerer, r *registry.Registry) (*Metrics, error) {
	m := &Metrics{
		reg: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "requests_total",
			Help: "Requests answered by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "request_duration_seconds",
			Help:    "Time to serve a request, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"endpoint"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "snippet_steps",
			Help:    "Starlark execution steps used per run, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(10, 10, 7),
		}, []string{"endpoint"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "snippet_limit_failures_total",
			Help: "Snippet runs stopped by the step budget, the time limit or the memory budget, by endpoint and kind (step_limit, timeout, memory_limit).",
		}, []string{"endpoint", "kind"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "schema_rejections_total",
			Help: "Request bodies refused by the endpoint's schema, by endpoint.",
		}, []string{"endpoint"}),
	}
	compiled := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metricNS, Subsystem: metricSub, Name: "compilations_total",
		Help: "Code compilations by exec modes in this process (writes, syncs and reloads of changed records).",
	}, func() float64 { return float64(registry.Compilations()) })
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricNS, Subsystem: metricSub, Name: "refused_total",
		Help: "Requests answered 503 without running, by endpoint and reason (concurrency: max_concurrency runs in flight; circuit: the circuit is open).",
	}, []string{"endpoint", "reason"})
	m.circuit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricNS, Subsystem: metricSub, Name: "circuit_open",
		Help: "Whether the endpoint's circuit is open (1), half open (0.5, one trial run allowed) or closed (0).",
	}, []string{"endpoint"})
	collectors := []prometheus.Collector{
		endpointSeries{m: m, vecs: []prometheus.Collector{m.requests, m.duration, m.steps, m.limits, m.rejections, m.refused, m.circuit}},
		compiled,
	}
	if r != nil {
		collectors = append(collectors, registryGauges(r)...)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registryGauges report the state of the registry: the live revision,
// the pending drafts and the unservable records.
func registryGauges(r *registry.Registry) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "live_revision",
			Help: "The published revision this instance serves (0 before the first sync).",
		}, func() float64 { return float64(r.Live().Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "pending_drafts",
			Help: "Drafts a sync would publish: added, changed and removed records.",
		}, func() float64 {
			p := r.Status().Pending
			return float64(len(p.Added) + len(p.Changed) + len(p.Removed))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricNS, Subsystem: metricSub, Name: "unservable_records",
			Help: "Published records not served because they no longer pass under the running config.",
		}, func() float64 { return float64(len(r.Live().Unservable())) }),
	}
}

// endpointSeries collects the per-endpoint vectors, first dropping the
// series of endpoints the live table no longer serves.
type endpointSeries struct {
	m    *Metrics
	vecs []prometheus.Collector
}

func (s endpointSeries) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range s.vecs {
		v.Describe(ch)
	}
}

func (s endpointSeries) Collect(ch chan<- prometheus.Metric) {
	s.m.forgetGone()
	for _, v := range s.vecs {
		v.Collect(ch)
	}
}

// forgetGone removes the series of endpoints the live table does not
// serve, once per table.
func (m *Metrics) forgetGone() {
	if m.reg == nil {
		return
	}
	t := m.reg.Live()
	if old := m.pruned.Swap(t); old == t {
		return
	}
	served := make(map[string]bool, len(t.Entries()))
	for _, e := range t.Entries() {
		served[e.Record.Name] = true
	}
	m.byEndpoint.Range(func(k, _ any) bool {
		name := k.(string)
		if served[name] {
			return true
		}
		m.byEndpoint.Delete(name)
		labels := prometheus.Labels{"endpoint": name}
		m.requests.DeletePartialMatch(labels)
		m.duration.DeletePartialMatch(labels)
		m.steps.DeletePartialMatch(labels)
		m.limits.DeletePartialMatch(labels)
		m.rejections.DeletePartialMatch(labels)
		m.refused.DeletePartialMatch(labels)
		m.circuit.DeletePartialMatch(labels)
		return true
	})
}
