// Package config owns marquee's YAML configuration: the schema, defaults,
// strict decoding, and errors located by file, line and field path.
//
// Packages that compile parts of the configuration (expressions, templates,
// selectors) report their problems through [Config.Errorf], so that every
// error a user sees names where in the file it comes from. Nothing here runs
// on the request path.
package config
