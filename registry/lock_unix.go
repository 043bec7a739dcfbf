//go:build unix

package registry

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process of this host with that pid runs.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
