package registrar

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/metrics"
)

type registrarMetrics struct {
	registrations prometheus.Gauge
	registers     *prometheus.CounterVec // by SIP status code class and kind
	authFailures  prometheus.Counter
	notifies      *prometheus.CounterVec // by result
	deregs        *prometheus.CounterVec // by reason
}

func newMetrics(reg prometheus.Registerer) *registrarMetrics {
	m := &registrarMetrics{
		registrations: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "registrations", Help: "Registered public identities (registrations with bindings)."}),
		registers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "register_total", Help: "REGISTER requests answered, by status code."}, []string{"code"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "auth_failures_total", Help: "Wrong responses to a challenge."}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "reg_notify_total", Help: "reg event NOTIFYs sent, by result."}, []string{"result"}),
		deregs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "scscf",
			Name: "deregistrations_total", Help: "Deregistrations, by reason (user, timeout, network)."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.registrations, m.registers, m.authFailures, m.notifies, m.deregs)
	}
	return m
}
