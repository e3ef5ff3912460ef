package decide

import "testing"

func TestRewritePlain(t *testing.T) {
	tests := []struct{ in, want string }{
		{`purchase_history.last_month_total > 500 AND browsing_category = "electronics"`,
			`purchases.total_30d > 500 and browsing_category == "electronics"`},
		{`attrs.tier = 'gold' OR NOT cart_items >= 3`, `attrs.tier == 'gold' or not cart.items >= 3`},
		{`attrs.x <> "a = b AND c"`, `attrs.x != "a = b AND c"`},
		{`attrs.tier == "gold" and views("electronics", "7d") >= 3`, `attrs.tier == "gold" and views("electronics", "7d") >= 3`},
		{`let x = 2; x >= 1 and x <= 3 and x != 4`, `let x = 2; x >= 1 and x <= 3 and x != 4`},
		{`cart_value > 100 AND since(cart_updated_at) > duration("30m")`, `cart.value > 100 and since(cart.updated_at) > duration("30m")`},
		{`"unterminated`, `"unterminated`},
		{`ANDROID = true`, `ANDROID == true`},
	}
	for _, tt := range tests {
		if got := rewritePlain(tt.in); got != tt.want {
			t.Errorf("rewritePlain(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
