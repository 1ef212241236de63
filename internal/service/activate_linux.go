package service

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

// systemdRunning reports whether systemd is the init system now running
// (sd_booted's test).
func systemdRunning() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

func systemctl(w io.Writer, args ...string) error {
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %v: %w: %s", args, err, out)
	}
	fmt.Fprintf(w, "systemctl %v\n", args)
	return nil
}

func activate(c Config, w io.Writer) error {
	if !systemdRunning() {
		if err := enableUnit(c, w); err != nil {
			return err
		}
		fmt.Fprintln(w, "systemd is not running here: the unit is enabled and will start at the next boot under systemd")
		return nil
	}
	if err := systemctl(w, "daemon-reload"); err != nil {
		return err
	}
	return systemctl(w, "enable", "--now", Name)
}

func deactivate(c Config, w io.Writer) error {
	if !systemdRunning() {
		return nil // Uninstall removes the unit and its enabling link
	}
	if _, err := os.Stat(UnitPath); err != nil {
		return nil // not installed
	}
	if err := systemctl(w, "disable", "--now", Name); err != nil {
		return err
	}
	defer systemctl(w, "daemon-reload")
	return nil
}
