package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name, inside DataDir, of the cookie-signing key generated
// when identity.keys is empty.
const KeyFile = "identity.key"

// NewKey returns a new random 32-byte cookie-signing key, base64-encoded as
// identity.keys expects it.
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("config: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// SigningKeys returns the cookie-signing keys, the signing one first. With
// no identity.keys configured it generates one key and keeps it in DataDir,
// so that cookies survive a restart; with no DataDir either, the key lives
// only as long as the process.
func (c *Config) SigningKeys() ([][]byte, error) {
	var keys [][]byte
	for i, k := range c.Identity.Keys {
		b, err := DecodeKey(k)
		if err != nil {
			return nil, fmt.Errorf("config: identity.keys[%d]: %w", i, err)
		}
		keys = append(keys, b)
	}
	if len(keys) > 0 {
		return keys, nil
	}
	if c.DataDir == "" {
		s, err := NewKey()
		if err != nil {
			return nil, err
		}
		b, _ := DecodeKey(s)
		return [][]byte{b}, nil
	}
	b, err := loadOrCreateKey(filepath.Join(c.DataDir, KeyFile))
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

func loadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		b, err := DecodeKey(strings.TrimSpace(string(data)))
		if err != nil || len(b) < MinKeyBytes {
			return nil, fmt.Errorf("config: %s does not hold a valid key; remove it to have a new one made", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: read key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("config: create data_dir: %w", err)
	}
	s, err := NewKey()
	if err != nil {
		return nil, err
	}
	// Written aside and linked into place, so that of two processes starting
	// at once one wins and the other reads a complete key, never a torn one.
	tmp, err := os.CreateTemp(filepath.Dir(path), KeyFile+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("config: write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(s + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("config: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return loadOrCreateKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("config: write key: %w", err)
	}
	b, _ := DecodeKey(s)
	return b, nil
}
