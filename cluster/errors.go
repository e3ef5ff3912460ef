package cluster

import "errors"

// Errors of the cluster package.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("cluster: invalid config")
	// ErrMessage reports a message from another node that does not decode.
	ErrMessage = errors.New("cluster: malformed message")
	// ErrShutdown is returned by a Cluster after Shutdown.
	ErrShutdown = errors.New("cluster: shut down")
)
