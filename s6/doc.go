// Package s6 is the supervisor's interop with s6 (skarnet.org): it renders a
// service slot and publishes it atomically into a scan directory, and wraps
// the s6 programs an operator path needs (s6-svc, s6-svstat, s6-svscanctl,
// s6-svwait).
//
// It knows s6 and files, nothing of profiles, state or policy: callers hand
// it complete argument vectors. It reads s6 status only through
// `s6-svstat -o`, never by parsing the human-readable line, and validates
// every field it reads.
//
// Non-goals: it does not start s6-svscan (see supervisor/boot and the init
// command) and does not talk to s6 through its internal file formats.
//
// It must not import the supervisor, policy, hostabi or cmd packages.
package s6
