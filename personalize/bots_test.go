package personalize

import "testing"

func TestBotMatcher(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true},
		{"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (Linux; Android 13; cubot KingKong Power) Chrome/120.0 Mobile Safari/537.36", false},
		// The exception covers the phone's word only, not a crawler beside it.
		{"CUBOT X30 via Googlebot", true},
		{"cubotbot", true},
		{"cubo", false},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", false},
		{"curl/8.5.0", false},
		{"", false},
	}
	m := newBotMatcher(nil)
	for _, tt := range tests {
		// Twice: the second answer comes from the cache.
		for range 2 {
			if got := m.isBot([]byte(tt.ua)); got != tt.want {
				t.Errorf("isBot(%q) = %v, want %v", tt.ua, got, tt.want)
			}
		}
	}
	custom := newBotMatcher([]string{" Robot "})
	if !custom.isBot([]byte("MyROBOT/1.0")) || custom.isBot([]byte("Googlebot")) {
		t.Error("configured patterns replace the defaults, trimmed and case-insensitive")
	}
	// The device exceptions belong to the default list only.
	if !newBotMatcher([]string{"cubot"}).isBot([]byte("CUBOT X30")) || !newBotMatcher([]string{"bot"}).isBot([]byte("CUBOT X30")) {
		t.Error("a configured pattern is matched as configured, CUBOT included")
	}
}
