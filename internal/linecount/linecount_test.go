package linecount

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name, in   string
		bytes, lns int64
	}{
		{"empty", "", 0, 0},
		{"no newline", `{"id":"a"}`, 10, 0},
		{"two lines", "{}\n{}\n", 6, 2},
		{"unterminated last", "{}\n{}", 5, 1},
		{"blank lines", "\n\n\n", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time: counts must not depend on how reads split.
			c := New(iotest.OneByteReader(strings.NewReader(tt.in)))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != tt.in {
				t.Fatalf("ReadAll = %q, %v", got, err)
			}
			if c.Bytes() != tt.bytes || c.Lines() != tt.lns {
				t.Errorf("Bytes, Lines = %d, %d; want %d, %d", c.Bytes(), c.Lines(), tt.bytes, tt.lns)
			}
		})
	}
}
