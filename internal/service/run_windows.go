package service

import (
	"context"

	"golang.org/x/sys/windows/svc"
)

// handler runs the agent under the Windows service control manager.
type handler struct {
	run func(ctx context.Context) error
	err error
}

// Execute implements svc.Handler: it starts the agent, reports it
// running, and stops it when asked to stop or at shutdown.
func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			h.err = err
			if err != nil {
				return true, 1 // a failure: the recovery actions restart it
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				h.err = <-done
				return false, 0
			}
		}
	}
}

// Run runs fn as the Windows service when the service control manager
// started this process, and directly otherwise.
func Run(ctx context.Context, fn func(ctx context.Context) error) error {
	isSvc, err := svc.IsWindowsService()
	if err != nil || !isSvc {
		return fn(ctx)
	}
	h := &handler{run: fn}
	if err := svc.Run(Name, h); err != nil {
		return err
	}
	return h.err
}
