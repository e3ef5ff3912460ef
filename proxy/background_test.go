package proxy

import (
	"context"
	"testing"
	"time"
)

func TestBackgroundBoundsAndCloses(t *testing.T) {
	var b background
	for i := range maxBackground {
		if !b.start() {
			t.Fatalf("start %d refused, want %d allowed", i, maxBackground)
		}
	}
	if b.start() {
		t.Errorf("start past maxBackground allowed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.close(ctx); err == nil {
		t.Error("close returned before the goroutines were done")
	}
	for range maxBackground {
		b.done()
	}
	if err := b.close(context.Background()); err != nil {
		t.Errorf("close after all were done: %v", err)
	}
	if b.start() {
		t.Error("start after close allowed")
	}
}
