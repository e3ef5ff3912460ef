package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a configuration file; anything larger is refused
// rather than read.
const MaxFileSize = 16 << 20

// ErrTooLarge is returned for a configuration file over MaxFileSize.
var ErrTooLarge = errors.New("config: file larger than 16 MiB")

// Load reads, decodes and validates the configuration file at path. On
// failure the error is an [Errors] listing every problem found, each with
// its line, unless the file could not be read at all.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	// Relative paths in the file (geo.database, checked now) are relative
	// to its directory.
	return parse(path, data, filepath.Dir(path))
}

// readFile reads the configuration file at path, up to MaxFileSize.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s", ErrTooLarge, path)
	}
	return data, nil
}

// Parse decodes and validates configuration text; name is used in error
// messages. It never panics, whatever data holds.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, "") }

// LoadPartial is Load for a caller that compiles the configuration
// further (expressions, templates, selectors) and reports the problems it
// finds there together with these, so that an operator sees every problem
// at once. When the file could be read and parsed as YAML but has
// problems, it returns them as an [Errors] together with the configuration
// as far as it decoded, defaults applied; that configuration may only be
// compiled to find more problems (see [Errors.Merge]), never run.
func LoadPartial(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parsePartial(path, data, filepath.Dir(path))
}

// parse is Parse for a file in dir ("" for none).
func parse(name string, data []byte, dir string) (*Config, error) {
	c, err := parsePartial(name, data, dir)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parsePartial decodes and validates data. Decoding goes on past a value
// it rejects, and validation runs on what decoded, so that every problem
// is reported, not only the first phase's; a problem validation finds
// about a value decoding already rejected is left out.
func parsePartial(name string, data []byte, dir string) (*Config, error) {
	c, errs := decodeFile(name, data)
	if c == nil {
		return nil, errs.Err()
	}
	c.dir = dir
	c.applyDefaults()
	if errs = errs.Merge(c.validate()); len(errs) > 0 {
		return c, errs.Err()
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func decodeFile(name string, data []byte) (*Config, Errors) {
	c := &Config{file: name, pos: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil // an empty file: all defaults
		}
		return nil, Errors{yamlError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: name, Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	}
	d := &decoder{file: name, pos: c.pos}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	d.decode(n, reflectValue(c), "")
	return c, d.errs
}

func yamlError(name string, err error) *FieldError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &FieldError{File: name, Msg: "invalid YAML: " + msg}
}
