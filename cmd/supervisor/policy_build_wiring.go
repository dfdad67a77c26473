package main

import "github.com/hermes-supervisor/hermes-supervisor/policy/build"

func init() { policyBuild, policyScaffold = build.Build, build.Scaffold }
