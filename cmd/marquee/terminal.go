package main

import (
	"io"
	"os"
)

// isTerminal reports whether w is a terminal, where progress lines help a
// person waiting; written to a file or a pipe they would only be noise
// in what a script reads. It checks for a character device, which
// /dev/null also is: what goes there is dropped anyway.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
