package main

import (
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// forProfile returns c with the profile's profile.toml merged in.
func forProfile(c config.Config, name string) (config.Config, error) {
	p, err := profile.For(c.Home, name)
	if err != nil {
		return c, err
	}
	return c.ForProfile(p.Config)
}
