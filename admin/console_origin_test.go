package admin

import "testing"

func TestConsoleFrameSources(t *testing.T) {
	tests := []struct {
		listen string
		port   int
		want   string
	}{
		{"127.0.0.1:9000", 9000, "http://127.0.0.1:9000 http://localhost:9000"},
		{"127.0.0.1:0", 41234, "http://127.0.0.1:41234 http://localhost:41234"},
		{"[::1]:9000", 9000, "http://[::1]:9000 http://localhost:9000"},
		{"localhost:9000", 9000, "http://localhost:9000 http://127.0.0.1:9000 http://[::1]:9000"},
		{"0.0.0.0:9000", 9000, "http://*:9000"},
		{"[::]:9000", 9000, "http://*:9000"},
		{":9000", 9000, "http://*:9000"},
		{"10.1.2.3:9000", 9000, "http://10.1.2.3:9000"},
		{"admin.internal:9000", 9000, "http://admin.internal:9000"},
		{"off", 0, ""},
	}
	for _, tt := range tests {
		if got := ConsoleFrameSources(tt.listen, tt.port); got != tt.want {
			t.Errorf("ConsoleFrameSources(%q, %d) = %q, want %q", tt.listen, tt.port, got, tt.want)
		}
	}
}
