package personalize

import (
	"errors"
	"fmt"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/inject"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Snapshot is the compiled, read-only form of one configuration's
// personalisation: decisions and slot selectors. A request loads the
// current Snapshot once and uses only it, so a reload never mixes two.
type Snapshot struct {
	// Config is the configuration this snapshot was compiled from.
	Config *config.Config
	// Engine makes decisions.
	Engine *decide.Engine
	// Compiler turns pages into plans and caches them.
	Compiler *inject.Compiler
	// Version counts configuration replacements since start; 0 is the
	// configuration marquee started with.
	Version uint64

	bots     *botMatcher
	context  *contextSources  // what request context expressions read
	global   *decide.Campaign // stands for the global holdout experiment
	products msync.Products   // Engine's catalog; nil when none
}

// Products returns the catalog the event path names categories and flags
// unknown products with: the decision engine's own, so that events and
// recommendations read the same catalog version. Nil when the
// configuration has none. The Personalizer hands it to the store (see
// msync.Store.SetProducts) for whichever snapshot serves.
func (s *Snapshot) Products() msync.Products { return s.products }

// campaign returns s's campaign of id, nil when there is none.
func (s *Snapshot) campaign(id string) *decide.Campaign {
	for _, c := range s.Engine.Campaigns() {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// WithDecisions compiles decisions document doc (named name in error
// locations) over the rest of s's configuration.
// Every problem of the document is reported, those of decoding,
// validation and compilation together, as a config.Errors.
func (s *Snapshot) WithDecisions(name string, doc []byte) (*Snapshot, error) {
	cfg, err := s.Config.WithDecisionsPartial(name, doc)
	if cfg == nil {
		return nil, err
	}
	return compile(cfg, s.context, err)
}

// Compile compiles the parts of cfg used on the request path. Every
// problem is reported, located in the file, as a config.Errors.
func Compile(cfg *config.Config) (*Snapshot, error) { return compile(cfg, nil, nil) }

// CompilePartial compiles what [config.LoadPartial] returned, cfg and its
// error, so that the problems of compiling (expressions, templates,
// selectors) are reported together with those of decoding and validation:
// the error is every problem, in file order, as a config.Errors.
func CompilePartial(cfg *config.Config, err error) (*Snapshot, error) {
	if cfg == nil {
		return nil, err
	}
	return compile(cfg, nil, err)
}

// compile is Compile reusing prev's context sources where cfg names the
// same. prior holds the problems decoding and validation found in cfg, nil
// when there were none; compiling adds its own, leaving out those about a
// field already reported (config.Errors.Merge).
func compile(cfg *config.Config, prev *contextSources, prior error) (*Snapshot, error) {
	var before config.Errors
	if prior != nil {
		if !errors.As(prior, &before) {
			return nil, prior
		}
	}
	var errs config.Errors
	eng, err := compileEngine(cfg, before)
	if err != nil {
		if ce, ok := err.(config.Errors); ok {
			errs = append(errs, ce...)
		} else {
			return nil, err
		}
	}
	rules := make([]inject.SlotRule, 0, len(cfg.Slots))
	for i, s := range cfg.Slots {
		mode, err := inject.ParseMode(s.Mode)
		if err != nil {
			errs = append(errs, cfg.Errorf(fmt.Sprintf("slots[%d].mode", i), "%v", err))
			continue
		}
		rule := inject.SlotRule{Name: s.Name, Selector: s.Selector, Mode: mode}
		if _, err := inject.NewCompiler([]inject.SlotRule{rule}, inject.Options{}); err != nil {
			msg := fmt.Sprintf("selector %q does not parse: %v", s.Selector, err)
			if errors.Is(err, inject.ErrRawTextSlot) {
				msg = fmt.Sprintf("%v", err)
			}
			errs = append(errs, cfg.Errorf(fmt.Sprintf("slots[%d].selector", i), "%s", msg))
			continue
		}
		rules = append(rules, rule)
	}
	sources := compileContextSources(cfg, prev, &errs)
	if err := before.Merge(errs).Err(); err != nil {
		return nil, err
	}
	comp, err := inject.NewCompiler(rules, inject.Options{
		MaxBodySize:   cfg.Limits.MaxRewriteBody.Int(),
		CompileBudget: 50 * time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("personalize: %w", err)
	}
	snap := &Snapshot{
		Config:   cfg,
		Engine:   eng,
		Compiler: comp,
		bots:     newBotMatcher(cfg.Bots.UserAgents),
		context:  sources,
		global:   &decide.Campaign{ID: GlobalCampaign},
	}
	if cat := eng.Catalog(); cat != nil {
		// Only a non-nil catalog: a nil *Catalog in the interface would
		// read as a catalog without products.
		snap.products = cat
	}
	return snap, nil
}

// compileEngine is decide.Compile. A configuration that failed validation
// (before holds its problems) is compiled only to find more problems, and
// values validation rejected may take the compiler where a valid
// configuration never goes: a panic there reports nothing more rather than
// ending the program.
func compileEngine(cfg *config.Config, before config.Errors) (eng *decide.Engine, err error) {
	if len(before) > 0 {
		defer func() {
			if recover() != nil {
				eng, err = nil, nil
			}
		}()
	}
	return decide.Compile(cfg)
}
