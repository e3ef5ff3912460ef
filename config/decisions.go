package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decisions is the part of a configuration that can be replaced while
// marquee runs (PUT /v1/campaigns, SIGHUP): what decides offers, not where
// marquee listens or stores.
type Decisions struct {
	Slots         []Slot      `yaml:"slots" json:"slots"`
	Segments      Segments    `yaml:"segments" json:"segments"`
	Campaigns     []Campaign  `yaml:"campaigns" json:"campaigns"`
	GlobalHoldout float64     `yaml:"global_holdout" json:"global_holdout"`
	Salt          string      `yaml:"salt" json:"salt"`
	Catalog       string      `yaml:"catalog" json:"catalog"`
	Conversions   Conversions `yaml:"conversions" json:"conversions"`
	Bots          Bots        `yaml:"bots" json:"bots"`

	// RecommendViewed is Config.RecommendViewed.
	RecommendViewed bool `yaml:"recommend_viewed" json:"recommend_viewed,omitempty"`
}

// Decisions returns the replaceable part of c. Experiment ids and salts
// that only repeat their defaults are left out, so that a document read,
// edited and written back still follows a change of the top-level salt.
func (c *Config) Decisions() Decisions {
	campaigns := make([]Campaign, len(c.Campaigns))
	for i, cp := range c.Campaigns {
		if ex := cp.Experiment; ex != nil {
			e := *ex
			if e.ID == cp.ID {
				e.ID = ""
			}
			if e.Salt == c.Salt {
				e.Salt = ""
			}
			cp.Experiment = &e
		}
		campaigns[i] = cp
	}
	return Decisions{
		Slots: c.Slots, Segments: c.Segments, Campaigns: campaigns,
		GlobalHoldout: c.GlobalHoldout, Salt: c.Salt, Catalog: c.Catalog,
		Conversions: c.Conversions, Bots: c.Bots,

		RecommendViewed: c.RecommendViewed,
	}
}

// WithDecisions decodes a YAML (or JSON) document holding the keys of
// Decisions and returns a copy of base with them replaced; keys the
// document leaves out are reset to their defaults, so the document is the
// whole new set. Errors are located in the document, which is named name.
func (base *Config) WithDecisions(name string, data []byte) (*Config, error) {
	c, err := base.WithDecisionsPartial(name, data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// WithDecisionsPartial is WithDecisions for a caller that compiles the
// result further and reports every problem at once: as [LoadPartial], on
// problems it also returns the configuration as far as the document
// decoded, to be compiled for more problems only.
func (base *Config) WithDecisionsPartial(name string, data []byte) (*Config, error) {
	c := &Config{file: name, pos: map[string]int{}}
	var d Decisions
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, Errors{yamlError(name, err)}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		// An empty body would silently remove every campaign: refuse it.
		return nil, Errors{{File: name, Line: root.Line, Msg: "want a mapping with segments, campaigns and the rest; to remove every campaign send {\"campaigns\": []}"}}
	}
	dd := &decoder{file: name, pos: c.pos}
	dd.decode(root.Content[0], reflectValue(&d), "")
	out := *base
	out.file, out.pos = name, c.pos
	out.Slots, out.Segments, out.Campaigns = d.Slots, d.Segments, d.Campaigns
	out.GlobalHoldout, out.Salt, out.Catalog = d.GlobalHoldout, d.Salt, d.Catalog
	out.Conversions, out.Bots = d.Conversions, d.Bots
	out.RecommendViewed = d.RecommendViewed
	out.applyDefaults()
	if errs := dd.errs.Merge(out.validate()); len(errs) > 0 {
		return &out, errs.Err()
	}
	return &out, nil
}

// CatalogPath is the file Catalog names: a relative path is relative to the
// directory of the configuration file, as an operator reading the file
// expects, and one in a document sent over the API or by another node
// resolves the same way, against this node's file. Catalog itself stays as
// written, so that Decisions hands back what WithDecisions was given.
func (c *Config) CatalogPath() string { return c.resolvePath(c.Catalog) }

func (c *Config) resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// CatalogLocation returns the directory catalogs may be read from
// (catalog_dir, made absolute) and the catalog's path relative to it, for
// reading through an [os.Root] so that symlinks cannot leave the directory
// either. A catalog that resolves outside the directory, by ".." or as an
// absolute path elsewhere, is an error that names only the catalog as
// written.
func (c *Config) CatalogLocation() (dir, name string, err error) {
	dir = c.CatalogDir
	if dir == "" {
		dir = c.dir
	} else {
		dir = c.resolvePath(dir)
	}
	if dir == "" {
		dir = "."
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", err
	}
	p, err := filepath.Abs(c.CatalogPath())
	if err != nil {
		return "", "", err
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("%q is outside catalog_dir %s", c.Catalog, dir)
	}
	return dir, rel, nil
}
