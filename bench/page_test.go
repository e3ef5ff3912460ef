package bench

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/inject"
)

func TestListingPageSlots(t *testing.T) {
	slots, err := PageSlots(ListingPage)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := SlotNames(slots), []string{"hero", "offer", "recs"}; !slices.Equal(got, want) {
		t.Fatalf("slots %q, want %q", got, want)
	}
	if got, want := slots[0].Fallback, `<a href="/sale">Free shipping on orders over $50</a>`; got != want {
		t.Errorf("hero fallback %q, want %q", got, want)
	}
}

func TestGeneratePage(t *testing.T) {
	c, err := inject.NewCompiler(nil, inject.Options{CompileBudget: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ size, slots int }{{0, 1}, {10_000, 3}, {61_000, 3}, {200_000, 10}, {50_000, 0}} {
		t.Run(fmt.Sprintf("%d-%d", tc.size, tc.slots), func(t *testing.T) {
			page := GeneratePage(tc.size, tc.slots)
			if tc.size > 5000 && (len(page) < tc.size*9/10 || len(page) > tc.size*11/10) {
				t.Errorf("page is %d bytes, want about %d", len(page), tc.size)
			}
			plan, err := c.Plan(page, "text/html")
			if err != nil {
				t.Fatal(err)
			}
			if plan.NumSlots() != tc.slots {
				t.Fatalf("plan has %d slots, want %d", plan.NumSlots(), tc.slots)
			}
			for i := range tc.slots {
				if got, want := plan.Slot(i).Name, fmt.Sprintf("slot%d", i); got != want {
					t.Errorf("slot %d named %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestWithNonce(t *testing.T) {
	for _, page := range [][]byte{ListingPage, []byte("<p>no head</p>"), GeneratePage(5000, 2)} {
		out, off := WithNonce(page)
		if !bytes.Equal(out[off:off+NonceLen], zeroNonce) || !bytes.Equal(out[off-len(nonceMeta):off], nonceMeta) {
			t.Fatalf("token not at offset %d: %q", off, out[max(off-40, 0):min(off+40, len(out))])
		}
		// A page that already has a token keeps it where it is.
		again, off2 := WithNonce(out)
		if !bytes.Equal(again, out) || off2 != off {
			t.Error("WithNonce of a page with a token changed it")
		}
	}
	slots, err := PageSlots(func() []byte { p, _ := WithNonce(ListingPage); return p }())
	if err != nil || len(slots) != 3 {
		t.Errorf("page with nonce: %d slots, %v", len(slots), err)
	}
}
