package sync_test

import (
	"fmt"
	"time"

	msync "github.com/marquee-proxy/marquee/sync"
)

func ExampleStore_ApplyEvents() {
	s, _ := msync.Open(msync.Options{})
	defer s.Close()
	now := time.Now()
	res := s.ApplyEvents([]msync.Event{
		{ID: "e1", Type: msync.EventView, Visitor: "v1", Category: "Electronics ", TS: now},
		{ID: "e1", Type: msync.EventView, Visitor: "v1", Category: "electronics", TS: now},
		{ID: "e2", Type: msync.EventView, Visitor: "v1", TS: now},
	})
	for _, r := range res {
		fmt.Println(r.Status, r.Err)
	}
	p, _ := s.Get("v1")
	fmt.Println(p.Views["electronics"][0].Count)
	// Output:
	// accepted <nil>
	// duplicate <nil>
	// rejected sync: category: a view needs a category, a product or a path
	// 1
}
