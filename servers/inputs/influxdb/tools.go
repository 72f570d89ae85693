//go:build tools

// Package tools records the two programs built from this module so that
// `go mod tidy` keeps their whole dependency graph in go.sum.
package tools

import (
	_ "github.com/influxdata/influxdb/v2/cmd/influxd"
	_ "github.com/influxdata/pkg-config"
)
