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

// Package casecret keeps in memory exactly the Secrets issuers name — one
// narrow watch per Secret, trimmed to the CA keys — and wakes an issuer's
// controller when its Secret changes or a timer it set fires.
package casecret

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Watcher keeps an in-memory copy of exactly the Secrets that issuers
// reference, and nothing else. Each referenced Secret gets its own informer
// whose list and watch carry the field selector metadata.name=<name> in the
// Secret's namespace, so the API server sends only that Secret: memory grows
// with the number of issuers, never with the number of Secrets in the cluster.
// When a watched Secret is created, changed or deleted, every issuer that
// references it is sent to its controller, which re-runs Check within seconds.
//
// It is a manager Runnable: informers live until the manager stops.
type Watcher struct {
	client kubernetes.Interface

	// SyncTimeout bounds how long Get waits for a new informer's first list.
	SyncTimeout time.Duration
	// Clock runs the timers of NotifyAt (a fake in tests).
	Clock clock.WithDelayedExecution

	// started is closed when Start has recorded the manager's context:
	// Get waits for it, so an issuer checked before the watcher runs is
	// not reported as broken.
	started   chan struct{}
	startOnce sync.Once

	mu      sync.Mutex
	ctx     context.Context
	watches map[types.NamespacedName]*secretWatch
	refs    map[slotRef]types.NamespacedName
	timers  map[issuer.Ref]clock.Timer

	events map[string]chan event.GenericEvent // by issuer kind
}

type secretWatch struct {
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc
	issuers  map[slotRef]struct{}
}

// Slots of an issuer: each names one Secret the issuer reads.
const (
	// SlotCA is the issuer's CA Secret (Get, Watch).
	SlotCA = ""
	// SlotCredentials is the Secret of the credentials its CA key in a
	// KMS or an HSM is used with (spec.ca.key.credentialsSecretRef).
	SlotCredentials = "credentials"
)

// slotRef is one Secret an issuer reads: its CA Secret, or another slot.
type slotRef struct {
	issuer.Ref
	slot string
}

// NewWatcher returns a watcher that notifies issuer controllers through
// the channels returned by Events.
func NewWatcher(client kubernetes.Interface) *Watcher {
	return &Watcher{
		client:      client,
		SyncTimeout: 30 * time.Second,
		Clock:       clock.RealClock{},
		started:     make(chan struct{}),
		watches:     map[types.NamespacedName]*secretWatch{},
		refs:        map[slotRef]types.NamespacedName{},
		timers:      map[issuer.Ref]clock.Timer{},
		events: map[string]chan event.GenericEvent{
			issuer.KindIssuer:        make(chan event.GenericEvent, 1024),
			issuer.KindClusterIssuer: make(chan event.GenericEvent, 1024),
		},
	}
}

// Events is the channel on which issuers of the given kind are sent when
// their CA Secret changes or a timer set with NotifyAt fires.
func (w *Watcher) Events(kind string) <-chan event.GenericEvent {
	return w.events[kind]
}

// Start records the manager's context and blocks until it ends, then stops
// every informer and timer.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.startOnce.Do(func() { close(w.started) })
	<-ctx.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, sw := range w.watches {
		sw.cancel()
		delete(w.watches, key)
	}
	for ref, t := range w.timers {
		t.Stop()
		delete(w.timers, ref)
	}
	return nil
}

// NeedLeaderElection: only the leader runs the controllers that use it.
func (w *Watcher) NeedLeaderElection() bool { return true }

// Get returns the Secret that issuer ref reads its CA from, starting a
// narrow watch on it the first time. It returns nil and no error when the
// Secret does not exist. An issuer that switches to another Secret stops
// being notified about the old one.
func (w *Watcher) Get(ctx context.Context, ref issuer.Ref, secret types.NamespacedName) (*corev1.Secret, error) {
	return w.GetSlot(ctx, ref, SlotCA, secret)
}

// GetSlot is Get for another Secret the issuer reads (SlotCredentials):
// each slot of an issuer watches one Secret, independently of the others.
func (w *Watcher) GetSlot(ctx context.Context, ref issuer.Ref, slot string, secret types.NamespacedName) (*corev1.Secret, error) {
	select {
	case <-w.started:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the CA Secret watcher to start: %w", ctx.Err())
	}
	sw, err := w.ensure(slotRef{ref, slot}, secret) //nolint:contextcheck // the watch outlives this call: it runs under the watcher's own context (the manager's)
	if err != nil {
		return nil, err
	}
	if !sw.informer.HasSynced() {
		syncCtx, cancel := context.WithTimeout(ctx, w.SyncTimeout)
		defer cancel()
		if !cache.WaitForCacheSync(syncCtx.Done(), sw.informer.HasSynced) {
			return nil, fmt.Errorf("timed out after %s waiting to read Secret %s", w.SyncTimeout, secret)
		}
	}
	obj, exists, err := sw.informer.GetStore().GetByKey(secret.String())
	if err != nil || !exists {
		return nil, err
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, fmt.Errorf("unexpected object of type %T in the Secret watch", obj)
	}
	return s, nil
}

// Watch starts (or keeps) a narrow watch on secret for issuer ref without
// waiting for its first list, for a caller that reads the Secret itself:
// ref is notified when it is created, changed or deleted.
func (w *Watcher) Watch(ctx context.Context, ref issuer.Ref, secret types.NamespacedName) error {
	select {
	case <-w.started:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the Secret watcher to start: %w", ctx.Err())
	}
	_, err := w.ensure(slotRef{ref, SlotCA}, secret) //nolint:contextcheck // the watch outlives this call: it runs under the watcher's own context (the manager's)
	return err
}

// ForgetSlot stops watching the Secret of one slot of ref (an issuer
// that no longer names credentials).
func (w *Watcher) ForgetSlot(ref issuer.Ref, slot string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dropRefLocked(slotRef{ref, slot})
}

// Forget stops notifying ref, and stops watching its Secret when no other
// issuer references it.
func (w *Watcher) Forget(ref issuer.Ref) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for sr := range w.refs {
		if sr.Ref == ref {
			w.dropRefLocked(sr)
		}
	}
	if t, ok := w.timers[ref]; ok {
		t.Stop()
		delete(w.timers, ref)
	}
}

// NotifyAt sends ref to its controller at t (for example when its CA
// expires), replacing any earlier timer for ref.
func (w *Watcher) NotifyAt(ref issuer.Ref, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.timers[ref]; ok {
		old.Stop()
	}
	d := max(t.Sub(w.Clock.Now()), time.Second)
	w.timers[ref] = w.Clock.AfterFunc(d, func() { w.notify(ref) })
}

func (w *Watcher) ensure(ref slotRef, secret types.NamespacedName) (*secretWatch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil {
		return nil, fmt.Errorf("the CA Secret watcher has stopped")
	}
	if old, ok := w.refs[ref]; ok && old != secret {
		w.dropRefLocked(ref)
	}
	sw, ok := w.watches[secret]
	if !ok {
		sw = w.startLocked(secret)
		w.watches[secret] = sw
	}
	sw.issuers[ref] = struct{}{}
	w.refs[ref] = secret
	return sw, nil
}

func (w *Watcher) dropRefLocked(ref slotRef) {
	secret, ok := w.refs[ref]
	if !ok {
		return
	}
	delete(w.refs, ref)
	if sw, ok := w.watches[secret]; ok {
		delete(sw.issuers, ref)
		if len(sw.issuers) == 0 {
			sw.cancel()
			delete(w.watches, secret)
		}
	}
}

func (w *Watcher) startLocked(secret types.NamespacedName) *secretWatch {
	selector := fields.OneTermEqualSelector("metadata.name", secret.Name).String()
	lw := cache.NewFilteredListWatchFromClient(w.client.CoreV1().RESTClient(), "secrets", secret.Namespace,
		func(o *metav1.ListOptions) { o.FieldSelector = selector })
	informer := cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, cache.Indexers{})
	// Only what the signer reads is kept (trim.go).
	if err := informer.SetTransform(trimCASecret); err != nil {
		log.FromContext(w.ctx).Error(err, "cannot trim the cached CA Secret", "secret", secret)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	sw := &secretWatch{informer: informer, cancel: cancel, issuers: map[slotRef]struct{}{}}
	changed := func() { w.notifyAll(secret) }
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Secret)
			n, ok2 := newObj.(*corev1.Secret)
			if ok1 && ok2 && o.ResourceVersion == n.ResourceVersion {
				return
			}
			changed()
		},
		DeleteFunc: func(any) { changed() },
	})
	if err != nil {
		log.FromContext(w.ctx).Error(err, "cannot watch CA Secret", "secret", secret)
	}
	go informer.RunWithContext(ctx)
	return sw
}

func (w *Watcher) notifyAll(secret types.NamespacedName) {
	w.mu.Lock()
	var refs []issuer.Ref
	if sw, ok := w.watches[secret]; ok {
		for ref := range sw.issuers {
			refs = append(refs, ref.Ref)
		}
	}
	w.mu.Unlock()
	for _, ref := range refs {
		w.notify(ref)
	}
}

func (w *Watcher) notify(ref issuer.Ref) {
	ch, ok := w.events[ref.Kind]
	if !ok {
		return
	}
	obj := issuer.NewObject(ref.Kind)
	if obj == nil {
		return
	}
	obj.SetName(ref.Name)
	obj.SetNamespace(ref.Namespace)
	w.mu.Lock()
	ctx := w.ctx
	w.mu.Unlock()
	if ctx == nil {
		return
	}
	ev := event.GenericEvent{Object: obj}
	select {
	case ch <- ev:
	default:
		// The buffer is full: hand the event to a goroutine rather than
		// block an informer or drop a change the issuer must see.
		go func() {
			select {
			case ch <- ev:
			case <-ctx.Done():
			}
		}()
	}
}
