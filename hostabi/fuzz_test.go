package hostabi_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// The fuzz targets run their seed corpora (testdata/fuzz and the f.Add
// seeds) in every "go test"; "go test -fuzz FuzzX" explores further.

func seedInputs(f *testing.F) {
	for _, in := range []hostabi.Input{
		{Kind: hostabi.KindBoot, Profile: "default", Root: true, State: hostabi.StateRunning},
		{Kind: hostabi.KindExit, Now: time.UnixMilli(1764104400000), Profile: "coder", ExitCode: -1, Signal: 9,
			History: []hostabi.ExitRecord{{ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}},
			Params:  hostabi.Params{{Key: "multiplex_profiles", Type: hostabi.ParamBool, Bool: true}, {Key: "s", Type: hostabi.ParamString, Str: "v"}}},
	} {
		b, err := hostabi.AppendInput(nil, &in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeInput: decoding never panics, and what decodes re-encodes to a
// canonical record that decodes to the same bytes again.
func FuzzDecodeInput(f *testing.F) {
	seedInputs(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := hostabi.DecodeInput(b)
		if err != nil {
			return
		}
		c1, err := hostabi.AppendInput(nil, &in)
		if err != nil {
			return // decodable but beyond what the host sends (e.g. parameters over 16 KiB)
		}
		in2, err := hostabi.DecodeInput(c1)
		if err != nil {
			t.Fatalf("canonical record does not decode: %v", err)
		}
		c2, err := hostabi.AppendInput(nil, &in2)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("re-encoding is not stable (%v)", err)
		}
	})
}

// FuzzDecodeDecision: decoding never panics; an accepted decision is valid
// for its kind and survives a round trip.
func FuzzDecodeDecision(f *testing.F) {
	f.Add(uint32(3), hostabi.AppendDecision(nil, &hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: time.Second, Reason: "exited 1: restart"}))
	f.Add(uint32(2), hostabi.AppendDecision(nil, &hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateStopped, Reason: "operator stop"}))
	f.Add(uint32(1), hostabi.AppendDecision(nil, &hostabi.Decision{Action: hostabi.ActionStart}))
	f.Fuzz(func(t *testing.T, kind uint32, b []byte) {
		d, err := hostabi.DecodeDecision(hostabi.Kind(kind), b)
		if err != nil {
			return
		}
		if err := d.Validate(hostabi.Kind(kind)); err != nil {
			t.Fatalf("accepted an invalid decision: %v", err)
		}
		back, err := hostabi.DecodeDecision(hostabi.Kind(kind), hostabi.AppendDecision(nil, &d))
		if err != nil || back != d {
			t.Fatalf("round trip: %+v -> %+v (%v)", d, back, err)
		}
	})
}

// FuzzParseMetadata: parsing never panics; accepted metadata renders to
// text that parses to the same name, version, decisions and parameters.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("name=default\nversion=1.0.0\ndecisions=boot,shutdown,exit\n"))
	f.Add([]byte("# c\nname=x\nversion=2\ndecisions=exit\nauthor=me\n"))
	f.Add([]byte("name=x\nversion=2\ndecisions=exit\nparams=multiplex_profiles:bool:false, window:duration:10m,s:string: a b ,n:int:-3,f:float:1e3\n"))
	f.Add([]byte("name=x\nversion=2\ndecisions=exit\nparams=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := hostabi.ParseMetadata(b)
		if err != nil {
			return
		}
		back, err := hostabi.ParseMetadata([]byte(m.Text()))
		if err != nil {
			t.Fatalf("rendered metadata does not parse: %v\n%s", err, m.Text())
		}
		if back.Name != m.Name || back.Version != m.Version || len(back.Decisions) != len(m.Decisions) {
			t.Fatalf("round trip: %+v -> %+v", m, back)
		}
		for i := range m.Decisions {
			if back.Decisions[i] != m.Decisions[i] {
				t.Fatalf("round trip: %+v -> %+v", m, back)
			}
		}
		if back.DeclaresParams != m.DeclaresParams || len(back.Params) != len(m.Params) {
			t.Fatalf("round trip: %+v -> %+v", m, back)
		}
		for i := range m.Params {
			if back.Params[i] != m.Params[i] {
				t.Fatalf("round trip: %+v -> %+v", m.Params[i], back.Params[i])
			}
		}
	})
}
