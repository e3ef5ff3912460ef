package inject

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sharedTestdata is where the project's shared test data lives, relative to
// this package's directory.
const sharedTestdata = "../../shared/testdata"

// readShared reads a file of the shared test data or skips the test.
func readShared(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedTestdata, rel))
	if err != nil {
		tb.Skipf("shared test data not available (%v); it lives beside the repository in CI", err)
	}
	return b
}

// checkInvariant splices distinct offers into every slot and verifies that the
// output with the offers cut out equals the input with the replaced ranges cut
// out, and that the plan's ranges are ordered and inside the body.
func checkInvariant(tb testing.TB, p *Plan, body []byte) []byte {
	tb.Helper()
	offers := make([][]byte, p.NumSlots())
	for i := range offers {
		offers[i] = []byte(fmt.Sprintf("[offer %d]", i))
	}
	out := p.AppendSplice(nil, body, offers)
	var in, got []byte
	prevIn, prevOut := 0, 0
	for i := 0; i < p.NumSlots(); i++ {
		s := p.Slot(i)
		if s.Start < prevIn || s.End < s.Start || s.End > len(body) {
			tb.Fatalf("slot %d range [%d,%d) out of order (prev end %d, len %d)", i, s.Start, s.End, prevIn, len(body))
		}
		if !(s.ElementStart <= s.ContentStart && s.ContentStart <= s.ContentEnd && s.ContentEnd <= s.ElementEnd) {
			tb.Fatalf("slot %d bounds inconsistent: %+v", i, s)
		}
		in = append(in, body[prevIn:s.Start]...)
		outStart := prevOut + (s.Start - prevIn)
		got = append(got, out[prevOut:outStart]...)
		if !bytes.Equal(out[outStart:outStart+len(offers[i])], offers[i]) {
			tb.Fatalf("slot %d: offer not found at output offset %d", i, outStart)
		}
		prevIn, prevOut = s.End, outStart+len(offers[i])
	}
	in = append(in, body[prevIn:]...)
	got = append(got, out[prevOut:]...)
	if !bytes.Equal(in, got) {
		tb.Fatalf("invariant broken: bytes outside slots changed\n got %q\nwant %q", got, in)
	}
	if nilOut := p.AppendSplice(nil, body, nil); !bytes.Equal(nilOut, body) {
		tb.Fatalf("splice without offers changed the body")
	}
	return out
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// testOptions are the defaults with a budget no loaded CI machine exceeds,
// so that results do not depend on the machine's load.
var testOptions = Options{CompileBudget: time.Minute}
