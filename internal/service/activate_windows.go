package service

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

func activate(c Config, w io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager (run as administrator): %w", err)
	}
	defer m.Disconnect()
	conf := Windows(c)
	if s, err := m.OpenService(conf.Name); err == nil {
		s.Close()
		return fmt.Errorf("service %s already exists; run herd-agent uninstall first", conf.Name)
	}
	s, err := m.CreateService(conf.Name, conf.BinaryPath, mgr.Config{
		DisplayName: conf.DisplayName,
		Description: conf.Description,
		StartType:   mgr.StartAutomatic,
	}, conf.Args...)
	if err != nil {
		return fmt.Errorf("creating service %s: %w", conf.Name, err)
	}
	defer s.Close()
	var actions []mgr.RecoveryAction
	for _, r := range conf.Recovery {
		actions = append(actions, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: r.Delay})
	}
	if err := s.SetRecoveryActions(actions, uint32(conf.ResetPeriod/time.Second)); err != nil {
		return fmt.Errorf("setting recovery actions: %w", err)
	}
	fmt.Fprintf(w, "created service %s (%s %s)\n", conf.Name, conf.BinaryPath, strings.Join(conf.Args, " "))
	if err := s.Start(); err != nil {
		return fmt.Errorf("starting service %s: %w", conf.Name, err)
	}
	fmt.Fprintf(w, "started service %s\n", conf.Name)
	return nil
}

func deactivate(c Config, w io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager (run as administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil
	} else if err != nil {
		return err
	}
	defer s.Close()
	if st, err := s.Control(svc.Stop); err == nil {
		for i := 0; i < 30 && st.State != svc.Stopped; i++ {
			time.Sleep(time.Second)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("deleting service %s: %w", Name, err)
	}
	fmt.Fprintf(w, "removed service %s\n", Name)
	return nil
}
