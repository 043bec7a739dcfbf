//go:build !unix

package registry

// processAlive cannot tell here: the lease decides.
func processAlive(int) bool { return true }
