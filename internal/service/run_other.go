//go:build !windows

package service

import "context"

// Run runs fn. (On Windows it runs fn as a service when the service
// control manager started the process.)
func Run(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) }
