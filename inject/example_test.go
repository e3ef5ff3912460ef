package inject

import "fmt"

func ExampleCompiler_Plan() {
	c, _ := NewCompiler(nil, Options{})
	body := []byte(`<main><div data-marquee-slot="hero">Free shipping</div></main>`)
	p, err := c.Plan(body, "text/html; charset=utf-8")
	if err != nil {
		fmt.Println("pass through:", err)
		return
	}
	buf := AcquireBuffer()
	defer ReleaseBuffer(buf)
	buf.B = p.AppendSplice(buf.B, body, [][]byte{[]byte("<b>20% off for you</b>")})
	fmt.Println(p.Slot(0).Name, string(buf.B))
	// Output: hero <main><div data-marquee-slot="hero"><b>20% off for you</b></div></main>
}

func ExampleNewCompiler() {
	c, err := NewCompiler([]SlotRule{
		{Name: "banner", Selector: "header > .promo"},
		{Name: "below-nav", Selector: "nav", Mode: ModeAfter},
	}, Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`<header><nav>menu</nav><p class="promo">Spring sale</p></header>`)
	p, err := c.Plan(body, "text/html")
	if err != nil {
		fmt.Println("pass through:", err)
		return
	}
	offers := make([][]byte, p.NumSlots())
	offers[p.Index("banner")] = []byte("Hi again, Sam!")
	offers[p.Index("below-nav")] = []byte("<aside>Free returns</aside>")
	fmt.Println(string(p.AppendSplice(nil, body, offers)))
	// Output: <header><nav>menu</nav><aside>Free returns</aside><p class="promo">Hi again, Sam!</p></header>
}

func ExamplePlan_Regions() {
	c, _ := NewCompiler(nil, Options{})
	body := []byte(`<p>a</p><div data-marquee-slot=x>fallback</div><img data-marquee-slot=y src=b.png>`)
	p, _ := c.Plan(body, "text/html")
	for _, r := range p.Regions(nil) {
		fmt.Printf("%d-%d %q\n", r[0], r[1], body[r[0]:r[1]])
	}
	// Output:
	// 33-41 "fallback"
	// 47-82 "<img data-marquee-slot=y src=b.png>"
}
