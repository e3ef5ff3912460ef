package cache_test

import (
	"fmt"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

// header is a request header of no fields.
type header struct{}

func (header) Peek(string) []byte { return nil }

// Example stores a response, finds it again, and purges it by tag.
func Example() {
	c, err := cache.New(cache.Options{MaxSize: 64 << 20, IgnoreQuery: []string{"utm_*"}})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	key := c.AppendKey(nil, true, []byte("Shop.Example"), []byte("/p/1?utm_source=mail&color=red"))
	fmt.Println(string(key))

	e, why := c.Admit(key, header{}, &cache.Response{
		Status: 200,
		Fields: []cache.Field{
			{Name: []byte("Cache-Control"), Value: []byte("public, max-age=60")},
			{Name: []byte("Surrogate-Key"), Value: []byte("product-1 red")},
		},
		Body:        []byte("<p>red shoe</p>"),
		RequestTime: now, ResponseTime: now,
	})
	fmt.Println(why)
	c.Put(e)

	hit, _ := c.Lookup(key, header{}, nil)
	fmt.Println(string(hit.Body()), hit.Freshness(time.Now().UnixNano()), hit.Tags())

	fmt.Println("purged:", c.Purge(cache.Purge{Tags: []string{"product-1"}, At: time.Now()}))
	gone, _ := c.Lookup(key, header{}, nil)
	fmt.Println(gone == nil)
	// Output:
	// https://shop.example/p/1?color=red
	// storable
	// <p>red shoe</p> fresh [product-1 red]
	// purged: 1
	// true
}
