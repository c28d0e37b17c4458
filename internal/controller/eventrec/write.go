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

package eventrec

import (
	"context"
	"encoding/json"
	"errors"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/wait"
)

// write writes ev as client-go's broadcaster does: a series is patched
// (created if its Event is gone), a singleton created; a refused Event is
// not tried again, an unreachable API server up to maxTries times.
func (r *Recorder) write(ctx context.Context, ev *eventsv1.Event) {
	for try := 1; ; try++ {
		err := r.writeOnce(ctx, ev)
		if err == nil {
			return
		}
		var status apierrors.APIStatus
		if errors.As(err, &status) && !(ev.Series != nil && apierrors.IsAlreadyExists(err)) {
			if !apierrors.IsAlreadyExists(err) {
				r.logger.Error(err, "Event refused by the API server", "reason", ev.Reason, "object", klogRef(ev.Regarding))
			}
			return
		}
		if try >= maxTries || ctx.Err() != nil {
			failed.Inc()
			r.logger.Error(err, "Event not written", "reason", ev.Reason, "object", klogRef(ev.Regarding), "tries", try)
			return
		}
		select {
		case <-ctx.Done():
		case <-r.clock.After(wait.Jitter(retryDelay, 0.25)):
		}
	}
}

func (r *Recorder) writeOnce(ctx context.Context, ev *eventsv1.Event) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	events := r.client.Events(ev.Namespace)
	if ev.Series != nil {
		patch, err := seriesPatch(ev)
		if err != nil {
			// As client-go: nothing to retry.
			r.logger.Error(err, "Event series not patched", "reason", ev.Reason)
			return nil
		}
		_, err = events.Patch(ctx, ev.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			return err
		}
	}
	c := ev.DeepCopy()
	c.ResourceVersion = ""
	_, err := events.Create(ctx, c, metav1.CreateOptions{})
	return err
}

// seriesPatch is the patch from ev without its series to ev (client-go's
// createPatchBytesForSeries).
func seriesPatch(ev *eventsv1.Event) ([]byte, error) {
	old := ev.DeepCopy()
	old.Series = nil
	oldData, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	newData, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateTwoWayMergePatch(oldData, newData, eventsv1.Event{})
}
