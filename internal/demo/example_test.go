package demo_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/marquee-proxy/marquee/internal/demo"
)

func ExampleNamedSeeds() {
	for _, s := range demo.NamedSeeds() {
		fmt.Println(s.Name, s.ID)
	}
	// Output:
	// Ada AVcCXIyPiPN6Pyb2tIp83w
	// Bob QgypYMIiCAwcR-ZxPkUq3Q
	// Chloe vSRuxJv1kBqx3LN7EMafKw
	// Dev q5g32pTfnocVTi3XzgqytA
	// Eve U_RIhfSk_5KT3UCqAQ04Vg
}

func ExampleNewShop() {
	shop := httptest.NewServer(demo.NewShop())
	defer shop.Close()
	resp, err := shop.Client().Get(shop.URL + "/p/aero-earbuds")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Demo-Category"))
	// Output: 200 text/html; charset=utf-8 electronics
}
