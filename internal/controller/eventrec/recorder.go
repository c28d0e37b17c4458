/*
Copyright 2026 The nstance-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package eventrec records the manager's events.k8s.io/v1 Events with
// memory bounded whatever their rate: a bounded queue that drops (and
// counts) what does not fit, of which no namespace's Events may hold more
// than half (one tenant's flood of failing requests cannot crowd out the
// others' Events), a few workers that write, and a series cache of at most
// a fixed number of Events.
//
// It replaces client-go's events broadcaster (k8s.io/client-go/tools/events,
// what controller-runtime's GetEventRecorder records through), which keeps
// every Event it records for 6 to 12 minutes to detect series: most of our
// Events are about one request each (CertificateIssued names the serial),
// so at R signatures a second it held 360·R to 720·R Events, and it starts
// one goroutine per Event, retried for up to two minutes while the API
// server is away. The Events written are the ones it wrote: same name,
// namespace, type, reason, action, note, regarding and related objects,
// reporting controller and instance, and the same series semantics (an
// Event repeated about the same object becomes a series, patched with its
// count) for as many Events as the cache holds.
package eventrec

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	typedeventsv1 "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/tools/record/util"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

const (
	// DefaultQueue is how many Events wait to be written before the next
	// is dropped (client-go's broadcaster queues 1,000 as well).
	DefaultQueue = 1000
	// DefaultSeries is how many Events the series cache holds at most:
	// 1 to 2 KiB each.
	DefaultSeries = 4096
	// DefaultWorkers write Events in parallel (one write takes a round
	// trip; signing runs 16 workers by default).
	DefaultWorkers = 4

	// finishTime: a series not observed again for this long is finished
	// (its count written) and a singleton forgotten (client-go's value).
	finishTime = 6 * time.Minute
	// refreshTime: a live series is written again this often, before the
	// API server's Event TTL (1 h) removes it (client-go's value).
	refreshTime = 30 * time.Minute
	// sweepInterval: how often finished entries leave the cache.
	sweepInterval = time.Minute
	// maxTries and retryDelay bound the attempts to write one Event while
	// the API server cannot be reached; meanwhile the queue fills and drops.
	maxTries   = 5
	retryDelay = 2 * time.Second
	// writeTimeout bounds one attempt.
	writeTimeout = 10 * time.Second
)

// Options size a Recorder; zero values take the defaults.
type Options struct {
	// Queue is how many Events may wait to be written.
	Queue int
	// Series is how many Events the series cache holds at most.
	Series int
	// Workers is how many Events are written at once.
	Workers int
	// Clock stamps the Events and ages the cache (default: the real clock).
	Clock clock.WithTicker
	// Logger logs Events that could not be written.
	Logger logr.Logger
}

// Recorder records events.k8s.io/v1 Events: Eventf never blocks, and the
// memory it holds is bounded by its Options. Start it (it is a manager
// Runnable) to write what it records.
type Recorder struct {
	scheme              *runtime.Scheme
	client              typedeventsv1.EventsV1Interface
	reportingController string
	reportingInstance   string
	clock               clock.WithTicker
	logger              logr.Logger
	workers             int

	queue chan *eventsv1.Event
	// queued counts the Events in queue by namespace, perNamespace bounds
	// it (half the queue): guarded by queuedMu, which is held across a
	// send so that the worker taking the Event counts it out after.
	queuedMu     sync.Mutex
	queued       map[string]int
	perNamespace int

	mu     sync.Mutex
	series *seriesCache
}

var (
	_ recorder.EventRecorder         = (*Recorder)(nil)
	_ manager.LeaderElectionRunnable = (*Recorder)(nil)
)

// New returns a Recorder whose Events name reportingController, and as
// reporting instance reportingController-<hostname>, as client-go's do.
func New(scheme *runtime.Scheme, client typedeventsv1.EventsV1Interface, reportingController string, opts Options) *Recorder {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Series <= 0 {
		opts.Series = DefaultSeries
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	hostname, _ := os.Hostname()
	return &Recorder{
		scheme:              scheme,
		client:              client,
		reportingController: reportingController,
		reportingInstance:   reportingController + "-" + hostname,
		clock:               opts.Clock,
		logger:              opts.Logger,
		workers:             opts.Workers,
		queue:               make(chan *eventsv1.Event, opts.Queue),
		queued:              map[string]int{},
		perNamespace:        max(1, opts.Queue/2),
		series:              newSeriesCache(opts.Series),
	}
}

// Eventf records an Event about regarding (and related, if not nil); it
// never blocks: when the queue is full, or the Event's namespace already
// holds half of it, the Event is dropped and counted.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.AnnotatedEventf(regarding, related, nil, eventtype, reason, action, note, args...)
}

// AnnotatedEventf is Eventf with annotations on the Event.
func (r *Recorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	ev, err := r.makeEvent(regarding, related, annotations, eventtype, reason, action, fmt.Sprintf(note, args...))
	if err != nil {
		r.logger.Error(err, "Event not recorded", "reason", reason)
		return
	}
	if why := r.enqueue(ev); why != "" {
		dropped.Inc()
		r.logger.V(1).Info("Event dropped: "+why, "reason", reason, "object", klogRef(ev.Regarding))
	}
}

// enqueue queues ev unless the queue is full or ev's namespace holds half
// of it; it says why it did not.
func (r *Recorder) enqueue(ev *eventsv1.Event) (dropped string) {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	if r.queued[ev.Namespace] >= r.perNamespace {
		return "its namespace's Events hold half the queue"
	}
	select {
	case r.queue <- ev:
		r.queued[ev.Namespace]++
		return ""
	default:
		return "the queue is full"
	}
}

// dequeued counts ev out of its namespace's share of the queue.
func (r *Recorder) dequeued(ev *eventsv1.Event) {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	if r.queued[ev.Namespace]--; r.queued[ev.Namespace] <= 0 {
		delete(r.queued, ev.Namespace)
	}
}

// makeEvent builds the Event client-go's recorder would.
func (r *Recorder) makeEvent(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string) (*eventsv1.Event, error) {
	if eventtype != corev1.EventTypeNormal && eventtype != corev1.EventTypeWarning {
		return nil, fmt.Errorf("unsupported Event type %q", eventtype)
	}
	refRegarding, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		return nil, fmt.Errorf("could not reference the object of the Event: %w", err)
	}
	var refRelated *corev1.ObjectReference
	if related != nil {
		// As client-go: an unreferenceable related object is left out.
		refRelated, _ = reference.GetReference(r.scheme, related)
	}
	now := r.clock.Now()
	namespace := refRegarding.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        util.GenerateEventName(refRegarding.Name, now.UnixNano()),
			Namespace:   namespace,
			Annotations: annotations,
		},
		EventTime:           metav1.MicroTime{Time: now},
		ReportingController: r.reportingController,
		ReportingInstance:   r.reportingInstance,
		Action:              action,
		Reason:              reason,
		Regarding:           *refRegarding,
		Related:             refRelated,
		Note:                note,
		Type:                eventtype,
	}, nil
}

// Start writes the queued Events until ctx ends, and finishes series.
func (r *Recorder) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-r.queue:
					r.dequeued(ev)
					r.record(ctx, ev)
				}
			}
		})
	}
	ticker := r.clock.NewTicker(sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-ticker.C():
			for _, ev := range r.sweep() {
				r.write(ctx, ev)
			}
		}
	}
}

// NeedLeaderElection is false: every replica records its own Events.
func (r *Recorder) NeedLeaderElection() bool { return false }

// record writes ev, or counts it into the series it repeats.
func (r *Recorder) record(ctx context.Context, ev *eventsv1.Event) {
	r.mu.Lock()
	writes := r.series.observe(ev, r.clock.Now())
	r.mu.Unlock()
	for _, w := range writes {
		r.write(ctx, w)
	}
}

// sweep takes out of the cache the series and singletons not observed for
// finishTime, and returns the series to write a last time, with those due
// a refresh.
func (r *Recorder) sweep() []*eventsv1.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.series.sweep(r.clock.Now())
}

// Held is how many Events the series cache holds.
func (r *Recorder) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.series.len()
}

func klogRef(ref corev1.ObjectReference) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return ref.Namespace + "/" + ref.Name
}
