package hostabi

import (
	"fmt"
	"time"
)

// ABI version spoken by this package.
const (
	VersionMajor = 1
	VersionMinor = 1
)

// Export names a module provides. See the package doc for their signatures.
const (
	ExportMemory     = "memory"
	ExportABIVersion = "hermes_abi_version"
	ExportMetadata   = "hermes_metadata"
	ExportAlloc      = "hermes_alloc"
	ExportDecide     = "hermes_decide"
)

// WASIModule is the only import module a policy may use.
const WASIModule = "wasi_snapshot_preview1"

// Sizes and bounds of the records.
const (
	InputHeaderSize    = 96
	HistoryRecordSize  = 32
	OutputHeaderSize   = 32
	MaxReasonLen       = 256
	MaxOutputSize      = 1024
	MaxMetadataSize    = 4096
	MaxDelay           = time.Hour
	MaxHistory         = 64
	MaxParamsSize      = 16 << 10
	MaxProfileNameSize = 251
)

// Offsets of the input record's fixed header (the table "Input record" in
// the package doc). The header is InputHeaderSize bytes; the variable parts
// follow it.
const (
	InputOffSize         = 0  // u32: bytes in the whole record
	InputOffHeaderSize   = 4  // u32: bytes in the fixed header
	InputOffKind         = 8  // u32
	InputOffFlags        = 12 // u32: InputFlagRoot
	InputOffNow          = 16 // i64: Unix milliseconds
	InputOffState        = 24 // u32
	InputOffDesired      = 28 // u32
	InputOffStateSince   = 32 // i64: Unix milliseconds
	InputOffPriorExit    = 40 // u32
	InputOffTrigger      = 44 // u32
	InputOffSignal       = 48 // i32
	InputOffPhase        = 52 // u32
	InputOffUptime       = 56 // i64: milliseconds
	InputOffExitCode     = 64 // i32
	InputOffProfileOff   = 68 // u32
	InputOffProfileLen   = 72 // u32
	InputOffHistoryOff   = 76 // u32
	InputOffHistoryCount = 80 // u32
	InputOffParamsOff    = 84 // u32
	InputOffParamsLen    = 88 // u32
	InputOffReserved     = 92 // u32: zero
)

// Bits of the input's flags.
const (
	// InputFlagRoot: the profile is the root profile "default".
	InputFlagRoot = 1 << 0
	// InputFlagNoStateFile (ABI 1.1, boot): nothing at all is at the
	// profile's state file path (no file, not even an unreadable one).
	InputFlagNoStateFile = 1 << 1
	// InputFlagLegacyCommand (ABI 1.1, boot): the container runs the
	// legacy "gateway run" command, by upstream's rule (see Input).
	InputFlagLegacyCommand = 1 << 2
)

// Parameters the host sets itself, over [policy.params], for the
// decisions named.
const (
	// ParamBootstrapState (boot, a string): HERMES_GATEWAY_BOOTSTRAP_STATE
	// from the environment of "supervisor boot", when it is set and not
	// empty; otherwise whatever [policy.params] says, if anything.
	// Upstream's image seeds the root profile's state with it on a volume
	// that has none (first boot, upstream #37896).
	ParamBootstrapState = "bootstrap_state"
)

// Offsets of an exit history record's fields (HistoryRecordSize bytes).
const (
	HistoryOffTime     = 0  // i64: Unix milliseconds
	HistoryOffUptime   = 8  // i64: milliseconds
	HistoryOffExitCode = 16 // i32
	HistoryOffSignal   = 20 // i32
	HistoryOffTrigger  = 24 // u32
	HistoryOffVerdict  = 28 // u32
)

// Offsets of the decision record's fixed header (OutputHeaderSize bytes);
// the reason follows it.
const (
	OutputOffSize      = 0  // u32: OutputHeaderSize + reason length
	OutputOffAction    = 4  // u32
	OutputOffState     = 8  // u32
	OutputOffDesired   = 12 // u32
	OutputOffExitCode  = 16 // i32
	OutputOffReasonLen = 20 // u32
	OutputOffDelay     = 24 // i64: milliseconds
)

// Version packs a major and minor version the way hermes_abi_version returns it.
func Version(major, minor uint16) uint32 { return uint32(major)<<16 | uint32(minor) }

// SplitVersion unpacks what hermes_abi_version returned.
func SplitVersion(v uint32) (major, minor uint16) { return uint16(v >> 16), uint16(v) }

// Kind names a decision.
type Kind uint32

const (
	KindBoot     Kind = 1
	KindShutdown Kind = 2
	KindExit     Kind = 3
)

var kindNames = []string{1: "boot", 2: "shutdown", 3: "exit"}

func (k Kind) String() string { return enumString(kindNames, uint32(k), "kind") }

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return enumMarshal(kindNames, uint32(k), "kind") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	return enumUnmarshal(kindNames, (*uint32)(k), b, "decision kind")
}

// State is a gateway_state or desired_state value.
type State uint32

const (
	StateNone          State = 0 // no state recorded
	StateUnreadable    State = 1 // a state file exists but cannot be read
	StateStarting      State = 2
	StateRunning       State = 3
	StateDraining      State = 4
	StateDegraded      State = 5
	StateStopped       State = 6
	StateStartupFailed State = 7
	StateOther         State = 8 // a value on the volume that this ABI does not name
)

var stateNames = []string{"none", "unreadable", "starting", "running", "draining", "degraded", "stopped", "startup_failed", "other"}

func (s State) String() string { return enumString(stateNames, uint32(s), "state") }

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return enumMarshal(stateNames, uint32(s), "state") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	return enumUnmarshal(stateNames, (*uint32)(s), b, "state")
}

// Persistable reports whether s may be written to gateway_state.json.
func (s State) Persistable() bool { return s >= StateStarting && s <= StateStartupFailed }

// ParseVolumeState maps a gateway_state string found on the volume to a
// State: "" is StateNone, names this ABI knows map to themselves, anything
// else is StateOther.
func ParseVolumeState(v string) State {
	if v == "" {
		return StateNone
	}
	for i := int(StateStarting); i <= int(StateStartupFailed); i++ {
		if stateNames[i] == v {
			return State(i)
		}
	}
	return StateOther
}

// PriorExit says how the previous gateway life ended, as boot sees it.
type PriorExit uint32

const (
	PriorExitUnknown PriorExit = 0
	PriorExitClean   PriorExit = 1
	PriorExitUnclean PriorExit = 2
)

var priorExitNames = []string{"unknown", "clean", "unclean"}

func (p PriorExit) String() string { return enumString(priorExitNames, uint32(p), "prior_exit") }

// MarshalText implements encoding.TextMarshaler.
func (p PriorExit) MarshalText() ([]byte, error) {
	return enumMarshal(priorExitNames, uint32(p), "prior_exit")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PriorExit) UnmarshalText(b []byte) error {
	return enumUnmarshal(priorExitNames, (*uint32)(p), b, "prior_exit")
}

// Trigger is what ended (or is ending) a gateway life.
type Trigger uint32

const (
	TriggerNone     Trigger = 0
	TriggerSignal   Trigger = 1 // a stop signal with no planned-stop marker: container restart, OOM, bare kill
	TriggerOperator Trigger = 2 // an operator's stop: a marker with intent "stop" named this process
	TriggerRestart  Trigger = 3 // an operator's restart: a marker with intent "restart"
	TriggerExited   Trigger = 4 // the gateway exited by itself (history only)
)

var triggerNames = []string{"none", "signal", "operator", "restart", "exited"}

func (t Trigger) String() string { return enumString(triggerNames, uint32(t), "trigger") }

// MarshalText implements encoding.TextMarshaler.
func (t Trigger) MarshalText() ([]byte, error) {
	return enumMarshal(triggerNames, uint32(t), "trigger")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Trigger) UnmarshalText(b []byte) error {
	return enumUnmarshal(triggerNames, (*uint32)(t), b, "trigger")
}

// Phase is where a live gateway is in its life.
type Phase uint32

const (
	PhaseNone     Phase = 0
	PhaseStarting Phase = 1
	PhaseRunning  Phase = 2
	PhaseDraining Phase = 3
	PhaseDegraded Phase = 4
)

var phaseNames = []string{"none", "starting", "running", "draining", "degraded"}

func (p Phase) String() string { return enumString(phaseNames, uint32(p), "phase") }

// MarshalText implements encoding.TextMarshaler.
func (p Phase) MarshalText() ([]byte, error) { return enumMarshal(phaseNames, uint32(p), "phase") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Phase) UnmarshalText(b []byte) error {
	return enumUnmarshal(phaseNames, (*uint32)(p), b, "phase")
}

// Action is what a decision says to do.
type Action uint32

const (
	ActionNone    Action = 0 // shutdown decisions carry no action
	ActionStart   Action = 1 // boot: start the gateway
	ActionDown    Action = 2 // boot: register the slot down
	ActionSkip    Action = 3 // boot: no slot at all
	ActionRestart Action = 4 // exit: restart (after Delay)
	ActionStop    Action = 5 // exit: stop for good (s6 finish exits 125)
)

var actionNames = []string{"none", "start", "down", "skip", "restart", "stop"}

func (a Action) String() string { return enumString(actionNames, uint32(a), "action") }

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) { return enumMarshal(actionNames, uint32(a), "action") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	return enumUnmarshal(actionNames, (*uint32)(a), b, "action")
}

// ExitRecord is one ended gateway life in the exit history.
type ExitRecord struct {
	Time     time.Time     `json:"time" toml:"time"`
	Uptime   time.Duration `json:"uptime" toml:"uptime"`
	ExitCode int32         `json:"exit_code" toml:"exit_code"` // -1 when killed by a signal
	Signal   int32         `json:"signal" toml:"signal"`
	Trigger  Trigger       `json:"trigger" toml:"trigger"`
	Verdict  Action        `json:"verdict" toml:"verdict"` // ActionRestart, ActionStop or ActionNone
}

// Input is everything a policy may use to make a decision. It is a pure
// function's whole argument: time included.
type Input struct {
	Kind       Kind      `json:"kind"`
	Now        time.Time `json:"now"`
	Profile    string    `json:"profile"`
	Root       bool      `json:"root"` // Profile is the root profile "default"
	State      State     `json:"state"`
	Desired    State     `json:"desired"`
	StateSince time.Time `json:"state_since"`
	PriorExit  PriorExit `json:"prior_exit"`
	// NoStateFile (boot, ABI 1.1): nothing at all is at the state file's
	// path. State is StateNone then; StateNone alone also means a file
	// without gateway_state.
	NoStateFile bool `json:"no_state_file,omitempty"`
	// LegacyCommand (boot, ABI 1.1): the container's command is the
	// legacy "gateway run" of the images before s6 (upstream #34339,
	// #35341), found as upstream's reconciler finds it: the argv of PID 1,
	// else of the first process, that holds a word ending in
	// "main-wrapper.sh"; everything through that word dropped (else a
	// leading "init"), then a leading "hermes"; legacy when the rest starts
	// with "gateway run" and holds no "--no-supervise", unless
	// HERMES_GATEWAY_NO_SUPERVISE is 1, true or yes.
	LegacyCommand bool          `json:"legacy_command,omitempty"`
	Trigger       Trigger       `json:"trigger"`
	Signal        int32         `json:"signal"`
	Phase         Phase         `json:"phase"`
	Uptime        time.Duration `json:"uptime"`
	ExitCode      int32         `json:"exit_code"`
	History       []ExitRecord  `json:"history"`
	Params        Params        `json:"params"`
}

// Decision is a policy's answer.
type Decision struct {
	Action   Action        `json:"action"`
	State    State         `json:"state"`   // gateway_state to persist; StateNone persists nothing
	Desired  State         `json:"desired"` // desired_state to persist; StateNone leaves it
	ExitCode int32         `json:"exit_code"`
	Delay    time.Duration `json:"delay"`
	Reason   string        `json:"reason"`
}

// Validate checks that d is a well-formed answer to a decision of kind k,
// as ABI 1.1 allows it. The host calls it on every answer a module gives
// (and, for a module speaking ABI 1.0, ValidateMinor); an error names the
// field at fault.
func (d *Decision) Validate(k Kind) error {
	switch k {
	case KindBoot:
		if d.Action != ActionStart && d.Action != ActionDown && d.Action != ActionSkip {
			return fmt.Errorf("boot decision: action %s is not start, down or skip", d.Action)
		}
		if d.State != StateNone && !d.State.Persistable() {
			return fmt.Errorf("boot decision: state %s cannot be seeded", d.State)
		}
		if d.Action == ActionSkip && (d.State != StateNone || d.Desired != StateNone) {
			return fmt.Errorf("boot decision: skip seeds no state")
		}
		if d.ExitCode != 0 || d.Delay != 0 {
			return fmt.Errorf("boot decision: exit_code and delay must be 0")
		}
	case KindShutdown:
		if d.Action != ActionNone {
			return fmt.Errorf("shutdown decision: action must be none, got %s", d.Action)
		}
		if !d.State.Persistable() {
			return fmt.Errorf("shutdown decision: state %s cannot be persisted", d.State)
		}
		if d.ExitCode < 0 || d.ExitCode > 255 {
			return fmt.Errorf("shutdown decision: exit_code %d is outside 0..255", d.ExitCode)
		}
		if d.Delay != 0 {
			return fmt.Errorf("shutdown decision: delay must be 0")
		}
	case KindExit:
		if d.Action != ActionRestart && d.Action != ActionStop {
			return fmt.Errorf("exit decision: action %s is not restart or stop", d.Action)
		}
		if d.State != StateNone && !d.State.Persistable() {
			return fmt.Errorf("exit decision: state %s cannot be persisted", d.State)
		}
		if d.ExitCode != 0 {
			return fmt.Errorf("exit decision: exit_code must be 0")
		}
		if d.Delay < 0 || d.Delay > MaxDelay || (d.Action == ActionStop && d.Delay != 0) {
			return fmt.Errorf("exit decision: delay %s is outside 0..%s (0 when stopping)", d.Delay, MaxDelay)
		}
	default:
		return fmt.Errorf("decision kind %d is not boot, shutdown or exit", uint32(k))
	}
	if d.Desired != StateNone && d.Desired != StateRunning && d.Desired != StateStopped {
		return fmt.Errorf("%s decision: desired %s is not none, running or stopped", k, d.Desired)
	}
	if len(d.Reason) > MaxReasonLen {
		return fmt.Errorf("%s decision: reason is %d bytes, more than %d", k, len(d.Reason), MaxReasonLen)
	}
	return nil
}

// ValidateMinor checks what d may say for a module speaking minor version
// minor of the ABI: before 1.1 a boot decision seeds no state.
func (d *Decision) ValidateMinor(k Kind, minor uint16) error {
	if k == KindBoot && minor < 1 && (d.State != StateNone || d.Desired != StateNone) {
		return fmt.Errorf("boot decision: state and desired must be none (a module speaking ABI 1.0 seeds no state)")
	}
	return nil
}

func enumString(names []string, v uint32, what string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", what, v)
}

func enumMarshal(names []string, v uint32, what string) ([]byte, error) {
	if int(v) < len(names) && names[v] != "" {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("hostabi: %s %d has no name", what, v)
}

func enumUnmarshal(names []string, dst *uint32, b []byte, what string) error {
	s := string(b)
	for i, n := range names {
		if n != "" && n == s {
			*dst = uint32(i)
			return nil
		}
	}
	return fmt.Errorf("hostabi: unknown %s %q (want one of %s)", what, s, joinNames(names))
}

func joinNames(names []string) string {
	out := ""
	for _, n := range names {
		if n == "" {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += n
	}
	return out
}
