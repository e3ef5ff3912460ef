package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestAppendTarget(t *testing.T) {
	s := &Server{opts: Options{StripQueryParams: []string{"mq_preview"}}}
	tests := []struct {
		name, uri, want string
		srv             *Server
	}{
		{"path only", "/p/1", "/p/1", s},
		{"query kept", "/p/1?color=red&size=m", "/p/1?color=red&size=m", s},
		{"preview stripped", "/p/1?color=red&mq_preview=tok", "/p/1?color=red", s},
		{"only preview", "/p/1?mq_preview=tok", "/p/1", s},
		{"absolute form", "http://shop.test/c/shoes?mq_preview=t&page=2", "/c/shoes?page=2", s},
		{"no server strips nothing", "/p/1?mq_preview=tok", "/p/1?mq_preview=tok", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(tt.uri)
			rc := &RewriteContext{ctx: &ctx, srv: tt.srv}
			if got := string(rc.AppendTarget([]byte("x"))); got != "x"+tt.want {
				t.Errorf("got %q, want %q", got, "x"+tt.want)
			}
		})
	}
}
