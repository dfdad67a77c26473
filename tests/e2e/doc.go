// Package e2e holds the end-to-end suites: the product driven through its
// command line, in simulated containers (tests/container) with real s6,
// across real container restarts. upstream_test.go is the upstream hermes
// container-restart suite, scenario for scenario; beyond_test.go goes past
// it (operator stop, restart, crash loops, policy swaps, broken policies,
// the unprivileged operator, many profiles, gateways that ignore SIGTERM).
//
// It drives the product through its command line only and must not import
// the product's packages.
package e2e
