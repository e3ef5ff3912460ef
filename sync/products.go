package sync

// Products is the product catalog as the event path reads it: to name the
// category of a product view that names none, and to count events about
// products the catalog lacks. The store does not parse the catalog: it is
// handed the one the decision engine compiled for the configuration in
// force (see Store.SetProducts), so that a reload changes both at once.
type Products interface {
	// ProductCategory returns the first category of product ("" when it
	// has none, as written in the catalog) and whether the catalog has
	// the product. product is normalised as events are (EventRules).
	ProductCategory(product string) (category string, ok bool)
}

// SetProducts installs the function the event path calls, once per batch
// of events, for the catalog in force; nil, or a nil Products from it,
// means no catalog: no category is filled in and no product is counted
// unknown. A function rather than a value, so that whoever swaps the
// configuration (the personaliser) is the only one to track it: the store
// always reads the catalog of the configuration serving requests.
func (s *Store) SetProducts(f func() Products) {
	if f == nil {
		s.products.Store(nil)
		return
	}
	s.products.Store(&f)
}

// catalog returns the catalog in force, nil when there is none.
func (s *Store) catalog() Products {
	if f := s.products.Load(); f != nil {
		return (*f)()
	}
	return nil
}
