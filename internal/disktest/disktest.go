// Package disktest makes a full disk in tests of the code that must
// survive one (the audit log, the admin API's answer to a failed write).
package disktest

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

// Fill makes every later write to the file at path, open in this process,
// fail with ENOSPC as on a full disk: /dev/full takes the place of its
// descriptor.
func Fill(t testing.TB, path string) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || target != path {
			continue
		}
		fd, _ := strconv.Atoi(e.Name())
		if err := syscall.Dup3(int(full.Fd()), fd, 0); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("%s is not open", path)
	}
}
