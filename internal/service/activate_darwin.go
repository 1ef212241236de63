package service

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

func launchctl(w io.Writer, args ...string) error {
	out, err := exec.Command("launchctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("launchctl %v: %w: %s", args, err, out)
	}
	fmt.Fprintf(w, "launchctl %v\n", args)
	return nil
}

func activate(c Config, w io.Writer) error {
	// A daemon already loaded is booted out first, so a reinstall picks
	// up the new property list.
	exec.Command("launchctl", "bootout", "system/"+LaunchdLabel).Run()
	if err := launchctl(w, "bootstrap", "system", PlistPath); err != nil {
		return err
	}
	return launchctl(w, "enable", "system/"+LaunchdLabel)
}

func deactivate(c Config, w io.Writer) error {
	if _, err := os.Stat(PlistPath); err != nil {
		return nil
	}
	return launchctl(w, "bootout", "system/"+LaunchdLabel)
}
