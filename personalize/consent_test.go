package personalize

import (
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/proxy"

	"github.com/valyala/fasthttp"
)

// testRC returns a RewriteContext over a request with the given headers
// and cookies, and an origin response with the given headers.
func testRC(reqHeaders, cookies, originHeaders map[string]string) *proxy.RewriteContext {
	ctx := &fasthttp.RequestCtx{}
	for k, v := range reqHeaders {
		ctx.Request.Header.Set(k, v)
	}
	for k, v := range cookies {
		ctx.Request.Header.SetCookie(k, v)
	}
	resp := &fasthttp.ResponseHeader{}
	for k, v := range originHeaders {
		resp.Set(k, v)
	}
	return proxy.NewRewriteContext(ctx, resp, nil)
}

func TestConsentPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   ConsentPolicy
		headers  map[string]string
		cookies  map[string]string
		optedOut bool
		mayMint  bool
	}{
		{"default", ConsentPolicy{}, nil, nil, false, true},
		{"gpc", ConsentPolicy{}, map[string]string{"Sec-GPC": "1"}, nil, true, true},
		{"gpc ignored", ConsentPolicy{IgnoreGPC: true}, map[string]string{"Sec-GPC": "1"}, nil, false, true},
		{"gpc other value", ConsentPolicy{}, map[string]string{"Sec-GPC": "0"}, nil, false, true},
		{"opt-out cookie", ConsentPolicy{OptOutCookie: "no"}, nil, map[string]string{"no": "1"}, true, true},
		{"opt-out cookie false", ConsentPolicy{OptOutCookie: "no"}, nil, map[string]string{"no": "false"}, false, true},
		{"strict without consent", ConsentPolicy{Strict: true, ConsentCookie: "ok"}, nil, nil, false, false},
		{"strict with consent", ConsentPolicy{Strict: true, ConsentCookie: "ok"}, nil, map[string]string{"ok": "yes"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := testRC(tt.headers, tt.cookies, nil)
			if got := tt.policy.optedOut(rc); got != tt.optedOut {
				t.Errorf("optedOut: got %v, want %v", got, tt.optedOut)
			}
			if got := tt.policy.mayMint(rc); got != tt.mayMint {
				t.Errorf("mayMint: got %v, want %v", got, tt.mayMint)
			}
		})
	}
}

func TestCustomerResolver(t *testing.T) {
	key := []byte("0123456789abcdef")
	tests := []struct {
		name    string
		opts    CustomerOptions
		cookies map[string]string
		origin  map[string]string
		want    string
	}{
		{"header", CustomerOptions{Header: "X-Customer"}, nil, map[string]string{"X-Customer": " Cust-1 "}, "Cust-1"},
		{"header folded", CustomerOptions{Header: "X-Customer", FoldCase: true}, nil, map[string]string{"X-Customer": "Cust-1"}, "cust-1"},
		{"header invalid id", CustomerOptions{Header: "X-Customer"}, nil, map[string]string{"X-Customer": "a b"}, ""},
		{"no header", CustomerOptions{Header: "X-Customer"}, nil, nil, ""},
		{"signed cookie", CustomerOptions{Cookie: "s", Keys: [][]byte{key}}, map[string]string{"s": SignCustomerHMAC("c-9", key)}, nil, "c-9"},
		{"unsigned cookie", CustomerOptions{Cookie: "s", Keys: [][]byte{key}}, map[string]string{"s": "c-9"}, nil, ""},
		{"cookie before header", CustomerOptions{Cookie: "s", Header: "X-Customer", Keys: [][]byte{key}}, map[string]string{"s": SignCustomerHMAC("c-9", key)}, map[string]string{"X-Customer": "c-1"}, "c-9"},
		{"forged cookie, header", CustomerOptions{Cookie: "s", Header: "X-Customer", Keys: [][]byte{key}}, map[string]string{"s": flipLast(SignCustomerHMAC("c-9", key))}, map[string]string{"X-Customer": "c-1"}, "c-1"},
		{"signed invalid id", CustomerOptions{Cookie: "s", Header: "X-Customer", Keys: [][]byte{key}}, map[string]string{"s": SignCustomerHMAC("c/9", key)}, map[string]string{"X-Customer": "c-1"}, ""},
		{"jwt cookie folded", CustomerOptions{Cookie: "s", Format: CustomerJWT, Keys: [][]byte{key}, FoldCase: true, Now: func() time.Time { return time.Unix(100, 0) }}, map[string]string{"s": makeJWT(key, `{"alg":"HS256"}`, `{"sub":" C-9 ","exp":200}`)}, nil, "c-9"},
		{"expired jwt, header", CustomerOptions{Cookie: "s", Header: "X-Customer", Format: CustomerJWT, Keys: [][]byte{key}, Now: func() time.Time { return time.Unix(300, 0) }}, map[string]string{"s": makeJWT(key, `{"alg":"HS256"}`, `{"sub":"c-9","exp":200}`)}, map[string]string{"X-Customer": "c-1"}, "c-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCustomerResolver(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(r.Resolve(testRC(nil, tt.cookies, tt.origin), nil)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := NewCustomerResolver(CustomerOptions{Cookie: "s"}); err == nil {
		t.Error("a cookie without keys was accepted")
	}
	if _, err := NewCustomerResolver(CustomerOptions{Cookie: "s", Format: CustomerFormat(9), Keys: [][]byte{key}}); err == nil {
		t.Error("an unknown cookie format was accepted")
	}
}
