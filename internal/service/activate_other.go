//go:build !linux && !darwin && !windows

package service

import (
	"errors"
	"io"
)

func activate(Config, io.Writer) error   { return errors.ErrUnsupported }
func deactivate(Config, io.Writer) error { return errors.ErrUnsupported }
