package decide

import (
	"math"

	"github.com/marquee-proxy/marquee/config"
)

// HoldoutVariant is the name under which an experiment's holdout is
// remembered and reported.
const HoldoutVariant = "holdout"

// Variant is one compiled arm of an experiment.
type Variant struct {
	// Name identifies the variant; HoldoutVariant for the holdout.
	Name string
	// Control marks the variant lift is measured against.
	Control bool
	// Holdout marks the arm that sees the slot's fallback.
	Holdout bool
	// Weight is the arm's relative share; the holdout's is derived from the
	// experiment's holdout share.
	Weight float64

	tmpl int // index into Engine.templates; -1 for the holdout
}

// experiment is a compiled experiment.
type experiment struct {
	id       string
	salt     string
	holdout  float64
	variants []*Variant // the holdout last, when there is one
	layer    *layer     // nil: not exclusive with any experiment
	cfg      *config.Experiment
}

// layer is a set of mutually exclusive experiments: each visitor of the
// layer belongs to exactly one of them.
type layer struct {
	index   int // into Decision.owners
	name    string
	key     string // the hash key of the layer's split
	salt    string // the top-level salt, shared by every member
	members []*experiment
}

// compileLayers links every experiment of engine campaigns that names a
// layer to the layer's other experiments, in configuration order, and
// returns the number of layers.
func compileLayers(campaigns []*Campaign, salt string) int {
	layers := map[string]*layer{}
	for _, c := range campaigns {
		if c.exp == nil || c.exp.cfg.Layer == "" {
			continue
		}
		ex := c.exp.cfg
		l := layers[ex.Layer]
		if l == nil {
			l = &layer{index: len(layers), name: ex.Layer, key: "\x00layer:" + ex.Layer, salt: salt}
			layers[ex.Layer] = l
		}
		l.members = append(l.members, c.exp)
		c.exp.layer = l
	}
	return len(layers)
}

// owner returns the experiment of l that id belongs to. A person the
// profile remembers in one of the layer's experiments stays in it (the
// first in configuration order, should a merge of two profiles remember
// two), so logging in, which changes the id assigned on, or an experiment
// added to the layer never moves anyone already exposed. Everyone else
// goes to the experiment with the highest hash of (salt, layer,
// experiment, id): rendezvous hashing with equal weights, an even split in
// which adding an experiment takes its share from every other one and
// moves nobody else.
func (l *layer) owner(remembered map[string]string, id []byte) *experiment {
	if len(remembered) > 0 {
		for _, x := range l.members {
			if name, ok := remembered[x.id]; ok && x.variant(name) != nil {
				return x
			}
		}
	}
	var best *experiment
	bestU := -1.0
	for _, x := range l.members {
		if u := unitHash(l.salt, l.key, x.id, id); u > bestU {
			best, bestU = x, u
		}
	}
	return best
}

// compileExperiment builds the arms of ex. The holdout is an arm too, so it
// is remembered and reported like the others; its weight is only a report
// of its share.
func compileExperiment(ex *config.Experiment) *experiment {
	out := &experiment{id: ex.ID, salt: ex.Salt, holdout: ex.Holdout, cfg: ex}
	total := 0.0
	for _, v := range ex.Variants {
		out.variants = append(out.variants, &Variant{Name: v.Name, Control: v.Control, Weight: v.Weight, tmpl: -1})
		total += v.Weight
	}
	if ex.Holdout > 0 && total > 0 {
		w := ex.Holdout * total / (1 - ex.Holdout)
		out.variants = append(out.variants, &Variant{Name: HoldoutVariant, Holdout: true, Weight: w, tmpl: -1})
	}
	return out
}

// variant returns the arm named name, or nil.
func (x *experiment) variant(name string) *Variant {
	for _, v := range x.variants {
		if v.Name == name && v.Weight > 0 {
			return v
		}
	}
	return nil
}

// assign picks the arm for id in two independent steps, each a function of
// (salt, experiment, id) alone, so the same id gets the same arm on every
// node and after every restart:
//
//  1. The holdout takes the ids whose hash falls below its share. Changing
//     variant weights never moves anyone into or out of it; raising the
//     share only moves treated visitors into it.
//  2. The others go to a variant by weighted rendezvous hashing: each
//     variant scores -ln(u)/weight, with u uniform in (0,1) from a hash of
//     (salt, experiment, variant, id), and the lowest score wins. Each
//     variant wins with probability weight/total, and changing one weight
//     moves only visitors into or out of that variant.
func (x *experiment) assign(id []byte) *Variant {
	if x.holdout > 0 && unitHash(x.salt, x.id, "\x00holdout", id) < x.holdout {
		return x.variants[len(x.variants)-1]
	}
	var best *Variant
	bestScore := math.Inf(1)
	for _, v := range x.variants {
		if v.Weight <= 0 || v.Holdout {
			continue
		}
		u := unitHash(x.salt, x.id, v.Name, id)
		score := -math.Log(u) / v.Weight
		if score < bestScore {
			best, bestScore = v, score
		}
	}
	return best
}

// inShare reports whether id falls in the first share of [0,1) for the
// given key: a stable coin with bias share.
func inShare(salt, key string, id []byte, share float64) bool {
	if share <= 0 {
		return false
	}
	return unitHash(salt, key, "", id) < share
}

// unitHash maps its inputs to a number in (0,1), the same on every node and
// in every process: FNV-1a over the parts, separated so that ("ab","c") and
// ("a","bc") differ, then a splitmix64 finaliser for an even spread.
func unitHash(salt, key, arm string, id []byte) float64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, s := range [...]string{salt, key, arm} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ 0xff) * prime
	}
	for _, c := range id {
		h = (h ^ uint64(c)) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return (float64(h>>11) + 0.5) / (1 << 53)
}
