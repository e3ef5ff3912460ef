package apierror

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"
)

func TestEncodeDiskFull(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("sync: write %q: %w", "v1", &os.PathError{Op: "write", Path: "profiles.db", Err: syscall.ENOSPC}),
		syscall.EDQUOT,
	} {
		status, body := Encode(err)
		var got struct{ Error Error }
		if e := json.Unmarshal(body, &got); e != nil {
			t.Fatal(e)
		}
		if status != http.StatusInsufficientStorage || got.Error.Code != CodeInsufficientStorage {
			t.Errorf("%v: got %d %s, want 507 %s", err, status, body, CodeInsufficientStorage)
		}
	}
	if status, _ := Encode(syscall.EIO); status != http.StatusInternalServerError {
		t.Errorf("EIO: got %d, want 500", status)
	}
}
