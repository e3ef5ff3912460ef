package proxy_test

import (
	"context"
	"fmt"
	"net"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/proxy"
)

// Example puts the proxy in front of a one-page shop and fills its slot with
// the trivial ReplaceRewriter.
func Example() {
	originLn, _ := net.Listen("tcp", "127.0.0.1:0")
	origin := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.SetBodyString(`<div data-marquee-slot="hero">Welcome</div>`)
	}}
	go func() { _ = origin.Serve(originLn) }()
	defer func() { _ = origin.Shutdown() }()

	srv, err := proxy.New(proxy.Options{
		Origins:  []string{"http://" + originLn.Addr().String()},
		Rewriter: proxy.ReplaceRewriter{Marker: []byte("Welcome"), Replacement: []byte("Welcome back, 10% off today")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	status, body, err := fasthttp.Get(nil, "http://"+ln.Addr().String()+"/")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(status, string(body))
	// Output: 200 <div data-marquee-slot="hero">Welcome back, 10% off today</div>
}
