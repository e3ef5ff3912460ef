package main

import (
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
)

// loadConfig reads the file at path and compiles every part of it, so that
// check and serve reject exactly the same files.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if _, err := decide.Compile(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
