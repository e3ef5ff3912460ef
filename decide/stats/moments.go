package stats

import "math"

// Moments are the sufficient statistics of one variant's enrolled visitors:
// counts, sums and sums of squares and cross-products of each visitor's
// outcome and of the same outcome in the 30 days before the visitor's
// first exposure (the covariate CUPED adjusts with). Every statistic of a
// metric — mean, variance, Welch's interval, the delta method for a ratio,
// the CUPED adjustment — is a function of these sums, so the report is
// exact from counters and nodes add their Moments.
//
// Sums of squares are over visitors, not orders: a visitor who buys twice
// contributes (v1+v2)², which is why the caller passes the visitor's totals
// before an outcome (see Outcome).
//
// Every field only grows when outcomes and covariates are non-negative,
// which Enroll and Outcome enforce; Merge relies on that.
type Moments struct {
	// N counts enrolled visitors: each visitor once per variant, at the
	// first exposure the profile records.
	N float64 `json:"n"`

	// PreBuyers counts visitors with an order in the 30 days before
	// enrollment (the conversion metric's covariate, 0 or 1 a visitor, so
	// it is its own sum of squares).
	PreBuyers float64 `json:"pre_buyers,omitempty"`
	// PreOrders and PreOrdersSq are Σx and Σx² of each visitor's orders in
	// those 30 days.
	PreOrders   float64 `json:"pre_orders,omitempty"`
	PreOrdersSq float64 `json:"pre_orders_sq,omitempty"`
	// PreRevenue and PreRevenueSq are Σx and Σx² of each visitor's order
	// value in those 30 days.
	PreRevenue   float64 `json:"pre_revenue,omitempty"`
	PreRevenueSq float64 `json:"pre_revenue_sq,omitempty"`

	// Converters counts enrolled visitors with a conversion credited to the
	// variant; ConvertersPre is Σ x·y with x = 1 for a visitor who bought
	// in the pre-period.
	Converters    float64 `json:"converters,omitempty"`
	ConvertersPre float64 `json:"converters_pre,omitempty"`
	// Orders, OrdersSq and OrdersPre are Σy, Σy² and Σxy of each visitor's
	// credited conversions.
	Orders    float64 `json:"orders,omitempty"`
	OrdersSq  float64 `json:"orders_sq,omitempty"`
	OrdersPre float64 `json:"orders_pre,omitempty"`
	// Revenue, RevenueSq and RevenuePre are Σy, Σy² and Σxy of each
	// visitor's credited purchase value.
	Revenue    float64 `json:"revenue,omitempty"`
	RevenueSq  float64 `json:"revenue_sq,omitempty"`
	RevenuePre float64 `json:"revenue_pre,omitempty"`
	// RevenueOrders is Σ revenue·orders over visitors, the cross-product
	// the delta method needs for average order value.
	RevenueOrders float64 `json:"revenue_orders,omitempty"`
}

// Covariate is what a visitor did in the 30 days before first exposure,
// fixed at enrollment.
type Covariate struct {
	// Orders is the number of orders.
	Orders float64
	// Revenue is their total value.
	Revenue float64
}

// Outcome is one conversion credited to an enrolled visitor, with the
// visitor's totals in this experiment before it, so that sums of squares
// stay per visitor.
type Outcome struct {
	// Value is the purchase value of this conversion; 0 when it carried
	// none.
	Value float64
	// PriorOrders and PriorRevenue are the visitor's credited conversions
	// and value in this variant before this one.
	PriorOrders, PriorRevenue float64
	// Pre is the visitor's covariate, as recorded at enrollment.
	Pre Covariate
}

// clean returns x when it is a usable non-negative number, else 0: a
// negative or NaN value from an event would break the monotone merge and
// every square root downstream.
func clean(x float64) float64 {
	if x > 0 && !math.IsInf(x, 1) {
		return x
	}
	return 0
}

// enroll adds one visitor with covariate pre.
func (m *Moments) enroll(pre Covariate) {
	o, r := clean(pre.Orders), clean(pre.Revenue)
	m.N++
	if o > 0 {
		m.PreBuyers++
	}
	m.PreOrders += o
	m.PreOrdersSq += o * o
	m.PreRevenue += r
	m.PreRevenueSq += r * r
}

// outcome adds one credited conversion. Each increment is the change of a
// per-visitor sum: (R+v)² - R² = 2Rv + v² for revenue, and so on.
func (m *Moments) outcome(out Outcome) {
	v, k, r := clean(out.Value), clean(out.PriorOrders), clean(out.PriorRevenue)
	xo, xr := clean(out.Pre.Orders), clean(out.Pre.Revenue)
	if k == 0 {
		m.Converters++
		if xo > 0 {
			m.ConvertersPre++
		}
	}
	m.Orders++
	m.OrdersSq += 2*k + 1
	m.OrdersPre += xo
	m.Revenue += v
	m.RevenueSq += 2*r*v + v*v
	m.RevenuePre += xr * v
	m.RevenueOrders += (k+1)*(r+v) - k*r
}

// add adds o to m: the Moments of two disjoint sets of visitors.
func (m *Moments) add(o Moments) {
	m.N += o.N
	m.PreBuyers += o.PreBuyers
	m.PreOrders += o.PreOrders
	m.PreOrdersSq += o.PreOrdersSq
	m.PreRevenue += o.PreRevenue
	m.PreRevenueSq += o.PreRevenueSq
	m.Converters += o.Converters
	m.ConvertersPre += o.ConvertersPre
	m.Orders += o.Orders
	m.OrdersSq += o.OrdersSq
	m.OrdersPre += o.OrdersPre
	m.Revenue += o.Revenue
	m.RevenueSq += o.RevenueSq
	m.RevenuePre += o.RevenuePre
	m.RevenueOrders += o.RevenueOrders
}

// valid reports whether every field is finite and non-negative.
func (m *Moments) valid() bool {
	for _, f := range m.fields() {
		if x := *f; x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// sums are the sums one per-visitor mean metric is computed from: n, Σy,
// Σy², and the covariate's Σx, Σx², Σxy.
type sums struct {
	n, y, yy, x, xx, xy float64
}

// sumsOf returns the sums of metric m, which must be a mean metric.
func (m *Moments) sumsOf(metric Metric) sums {
	switch metric {
	case MetricConversion:
		return sums{m.N, m.Converters, m.Converters, m.PreBuyers, m.PreBuyers, m.ConvertersPre}
	case MetricOrders:
		return sums{m.N, m.Orders, m.OrdersSq, m.PreOrders, m.PreOrdersSq, m.OrdersPre}
	case MetricRevenue:
		return sums{m.N, m.Revenue, m.RevenueSq, m.PreRevenue, m.PreRevenueSq, m.RevenuePre}
	}
	return sums{}
}
