package state

import (
	"encoding/json"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Verdict is what "supervisor run" decided at the end of a gateway life,
// handed to "supervisor finish" in the supervisor's ledger (and, for the
// slot's finish script, in its verdict file).
type Verdict struct {
	Supervisor Proc           `json:"-"`
	RunExit    int            `json:"run_exit"` // the exit code "supervisor run" leaves with
	Kind       hostabi.Kind   `json:"kind"`     // shutdown or exit
	Action     hostabi.Action `json:"action"`   // exit: restart or stop; shutdown: none
	Desired    hostabi.State  `json:"desired"`  // the desired state persisted with it (none when left as is)
	DelayMS    int64          `json:"delay_ms"` // restart delay
	Reason     string         `json:"reason"`
	Policy     string         `json:"policy"`
	WrittenAt  time.Time      `json:"written_at"`
}

// MaxVerdictAge is how long after it was written a verdict can still belong
// to the life "supervisor finish" is called for: s6 runs finish as soon as
// run exits.
const MaxVerdictAge = 30 * time.Second

// Matches reports whether v is the verdict of the life that ended with
// exitCode and signal (as s6 passes them to finish) at time now: run left
// normally with the recorded code, shortly before.
func (v Verdict) Matches(exitCode, signal int, now time.Time) bool {
	return signal == 0 && exitCode == v.RunExit && !v.WrittenAt.After(now.Add(time.Second)) && now.Sub(v.WrittenAt) <= MaxVerdictAge
}

// MarshalJSON flattens the supervisor's identity.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		SupervisorPid       int    `json:"supervisor_pid"`
		SupervisorStartTime uint64 `json:"supervisor_start_time"`
	}{plain(v), v.Supervisor.Pid, v.Supervisor.StartTime})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	type plain Verdict
	var x struct {
		plain
		SupervisorPid       int    `json:"supervisor_pid"`
		SupervisorStartTime uint64 `json:"supervisor_start_time"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*v = Verdict(x.plain)
	v.Supervisor = Proc{x.SupervisorPid, x.SupervisorStartTime}
	return nil
}
