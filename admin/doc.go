// Package admin owns the admin HTTP API of a node: profiles, events and
// bulk import, campaigns (read, replace, explain, preview), experiment
// statistics, cluster status, edge cache purges, /metrics, Go's profiler,
// health checks, and the operator console (a static page and its files
// under /assets/, and the metrics history its charts read). Every route but
// the health checks and the console's static files passes one
// authentication check before its body is read: a named token
// whose role (read or edit, declared with each route) allows the call.
// Every error takes the one JSON shape of package internal/apierror.
package admin
