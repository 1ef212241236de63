package authority

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/herd-health/herd/internal/store"
)

// Devices' keys never change, so each node keeps the devices it has seen
// and a check-in does not read the device row again. What does change is
// read in the check-in's own transaction instead: the verdict before it
// (for webhook events, EventsOnChange) and whether the device still
// exists (RecordCheckin then fails with ErrNotFound, and the entry goes).
// LastVerdict, LastSeen and LastPolicy of a cached device are stale and
// must not be used.

// maxCachedDevices bounds the cache; past it the cache starts afresh.
const maxCachedDevices = 1 << 20

type deviceCache struct {
	m sync.Map // id -> store.Device
	n atomic.Int64
}

// device returns an enrolled device, from the node's cache when it can.
func (a *Authority) device(ctx context.Context, id string) (store.Device, error) {
	if v, ok := a.devices.m.Load(id); ok {
		return v.(store.Device), nil
	}
	d, err := a.store.Device(ctx, id)
	if err != nil {
		return d, err
	}
	if a.devices.n.Add(1) > maxCachedDevices {
		a.devices.m.Clear()
		a.devices.n.Store(1)
	}
	a.devices.m.Store(id, store.Device{ID: d.ID, PublicKey: d.PublicKey, OS: d.OS, EnrolledAt: d.EnrolledAt})
	return d, nil
}

// forgetDevice drops a device from this node's cache (it was deleted).
func (a *Authority) forgetDevice(id string) { a.devices.m.Delete(id) }
