package hostabi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every decoding error of this package.
var ErrMalformed = errors.New("malformed record")

var le = binary.LittleEndian

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// EncodedInputSize returns how many bytes AppendInput will add for in.
func EncodedInputSize(in *Input) int {
	n := InputHeaderSize + len(in.Profile) + len(in.History)*HistoryRecordSize
	for _, p := range in.Params {
		n += paramSize(p)
	}
	return n
}

func paramSize(p Param) int {
	n := 2 + len(p.Key) + 1
	switch p.Type {
	case ParamBool:
		n++
	case ParamInt, ParamFloat:
		n += 8
	default:
		n += 4 + len(p.Str)
	}
	return n
}

// AppendInput encodes in after dst. It refuses inputs the ABI cannot carry
// (a profile name over 251 bytes, more than MaxHistory exits, parameters over
// MaxParamsSize).
func AppendInput(dst []byte, in *Input) ([]byte, error) {
	if len(in.Profile) > MaxProfileNameSize {
		return dst, fmt.Errorf("hostabi: profile name is %d bytes, more than %d", len(in.Profile), MaxProfileNameSize)
	}
	if len(in.History) > MaxHistory {
		return dst, fmt.Errorf("hostabi: %d history records, more than %d", len(in.History), MaxHistory)
	}
	paramsLen := 0
	for _, p := range in.Params {
		if p.Type < ParamBool || p.Type > ParamString {
			return dst, fmt.Errorf("hostabi: parameter %q has unknown type %d", p.Key, p.Type)
		}
		if len(p.Key) > math.MaxUint16 {
			return dst, fmt.Errorf("hostabi: parameter key is %d bytes", len(p.Key))
		}
		paramsLen += paramSize(p)
	}
	if paramsLen > MaxParamsSize {
		return dst, fmt.Errorf("hostabi: parameters take %d bytes, more than %d", paramsLen, MaxParamsSize)
	}
	size := EncodedInputSize(in)
	start := len(dst)
	dst = append(dst, make([]byte, InputHeaderSize)...)
	h := dst[start:]
	profileOff := InputHeaderSize
	historyOff := profileOff + len(in.Profile)
	paramsOff := historyOff + len(in.History)*HistoryRecordSize
	var flags uint32
	if in.Root {
		flags |= InputFlagRoot
	}
	if in.NoStateFile {
		flags |= InputFlagNoStateFile
	}
	if in.LegacyCommand {
		flags |= InputFlagLegacyCommand
	}
	le.PutUint32(h[InputOffSize:], uint32(size))
	le.PutUint32(h[InputOffHeaderSize:], InputHeaderSize)
	le.PutUint32(h[InputOffKind:], uint32(in.Kind))
	le.PutUint32(h[InputOffFlags:], flags)
	le.PutUint64(h[InputOffNow:], uint64(ms(in.Now)))
	le.PutUint32(h[InputOffState:], uint32(in.State))
	le.PutUint32(h[InputOffDesired:], uint32(in.Desired))
	le.PutUint64(h[InputOffStateSince:], uint64(ms(in.StateSince)))
	le.PutUint32(h[InputOffPriorExit:], uint32(in.PriorExit))
	le.PutUint32(h[InputOffTrigger:], uint32(in.Trigger))
	le.PutUint32(h[InputOffSignal:], uint32(in.Signal))
	le.PutUint32(h[InputOffPhase:], uint32(in.Phase))
	le.PutUint64(h[InputOffUptime:], uint64(in.Uptime.Milliseconds()))
	le.PutUint32(h[InputOffExitCode:], uint32(in.ExitCode))
	le.PutUint32(h[InputOffProfileOff:], uint32(profileOff))
	le.PutUint32(h[InputOffProfileLen:], uint32(len(in.Profile)))
	le.PutUint32(h[InputOffHistoryOff:], uint32(historyOff))
	le.PutUint32(h[InputOffHistoryCount:], uint32(len(in.History)))
	le.PutUint32(h[InputOffParamsOff:], uint32(paramsOff))
	le.PutUint32(h[InputOffParamsLen:], uint32(paramsLen))
	dst = append(dst, in.Profile...)
	var rec [HistoryRecordSize]byte
	for _, r := range in.History {
		le.PutUint64(rec[HistoryOffTime:], uint64(ms(r.Time)))
		le.PutUint64(rec[HistoryOffUptime:], uint64(r.Uptime.Milliseconds()))
		le.PutUint32(rec[HistoryOffExitCode:], uint32(r.ExitCode))
		le.PutUint32(rec[HistoryOffSignal:], uint32(r.Signal))
		le.PutUint32(rec[HistoryOffTrigger:], uint32(r.Trigger))
		le.PutUint32(rec[HistoryOffVerdict:], uint32(r.Verdict))
		dst = append(dst, rec[:]...)
	}
	for _, p := range in.Params {
		dst = le.AppendUint16(dst, uint16(len(p.Key)))
		dst = append(dst, p.Key...)
		dst = append(dst, byte(p.Type))
		switch p.Type {
		case ParamBool:
			b := byte(0)
			if p.Bool {
				b = 1
			}
			dst = append(dst, b)
		case ParamInt:
			dst = le.AppendUint64(dst, uint64(p.Int))
		case ParamFloat:
			dst = le.AppendUint64(dst, math.Float64bits(p.Float))
		case ParamString:
			dst = le.AppendUint32(dst, uint32(len(p.Str)))
			dst = append(dst, p.Str...)
		}
	}
	return dst, nil
}

// cutReason returns reason cut to at most MaxReasonLen bytes, on a character
// boundary: it drops the character that straddles the limit whole.
func cutReason(reason string) string {
	if len(reason) <= MaxReasonLen {
		return reason
	}
	n := MaxReasonLen
	for n > 0 && !utf8.RuneStart(reason[n]) {
		n--
	}
	return reason[:n]
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("hostabi: %w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// span checks that [off, off+n) lies inside a buffer of size total.
func span(off, n uint32, total int, what string) error {
	end := uint64(off) + uint64(n)
	if end > uint64(total) {
		return malformed("%s [%d, %d) is outside the %d-byte record", what, off, end, total)
	}
	return nil
}

// DecodeInput decodes an input record. Guests call it; the host's fuzz and
// round-trip tests check it against AppendInput.
func DecodeInput(b []byte) (Input, error) {
	var in Input
	if len(b) < InputHeaderSize {
		return in, malformed("input is %d bytes, shorter than the %d-byte header", len(b), InputHeaderSize)
	}
	size := le.Uint32(b[InputOffSize:])
	hsize := le.Uint32(b[InputOffHeaderSize:])
	if uint64(size) > uint64(len(b)) || size < hsize || hsize < InputHeaderSize {
		return in, malformed("input sizes: record %d, header %d, buffer %d", size, hsize, len(b))
	}
	b = b[:size]
	in.Kind = Kind(le.Uint32(b[InputOffKind:]))
	flags := le.Uint32(b[InputOffFlags:])
	in.Root = flags&InputFlagRoot != 0
	in.NoStateFile = flags&InputFlagNoStateFile != 0
	in.LegacyCommand = flags&InputFlagLegacyCommand != 0
	in.Now = fromMS(int64(le.Uint64(b[InputOffNow:])))
	in.State = State(le.Uint32(b[InputOffState:]))
	in.Desired = State(le.Uint32(b[InputOffDesired:]))
	in.StateSince = fromMS(int64(le.Uint64(b[InputOffStateSince:])))
	in.PriorExit = PriorExit(le.Uint32(b[InputOffPriorExit:]))
	in.Trigger = Trigger(le.Uint32(b[InputOffTrigger:]))
	in.Signal = int32(le.Uint32(b[InputOffSignal:]))
	in.Phase = Phase(le.Uint32(b[InputOffPhase:]))
	in.Uptime = time.Duration(int64(le.Uint64(b[InputOffUptime:]))) * time.Millisecond
	in.ExitCode = int32(le.Uint32(b[InputOffExitCode:]))
	pOff, pLen := le.Uint32(b[InputOffProfileOff:]), le.Uint32(b[InputOffProfileLen:])
	if err := span(pOff, pLen, len(b), "profile"); err != nil {
		return in, err
	}
	in.Profile = string(b[pOff : pOff+pLen])
	hOff, hCount := le.Uint32(b[InputOffHistoryOff:]), le.Uint32(b[InputOffHistoryCount:])
	if hCount > MaxHistory {
		return in, malformed("%d history records, more than %d", hCount, MaxHistory)
	}
	if err := span(hOff, hCount*HistoryRecordSize, len(b), "history"); err != nil {
		return in, err
	}
	if hCount > 0 {
		in.History = make([]ExitRecord, hCount)
	}
	for i := range in.History {
		r := b[hOff+uint32(i)*HistoryRecordSize:]
		in.History[i] = ExitRecord{
			Time:     fromMS(int64(le.Uint64(r[HistoryOffTime:]))),
			Uptime:   time.Duration(int64(le.Uint64(r[HistoryOffUptime:]))) * time.Millisecond,
			ExitCode: int32(le.Uint32(r[HistoryOffExitCode:])),
			Signal:   int32(le.Uint32(r[HistoryOffSignal:])),
			Trigger:  Trigger(le.Uint32(r[HistoryOffTrigger:])),
			Verdict:  Action(le.Uint32(r[HistoryOffVerdict:])),
		}
	}
	prOff, prLen := le.Uint32(b[InputOffParamsOff:]), le.Uint32(b[InputOffParamsLen:])
	if err := span(prOff, prLen, len(b), "params"); err != nil {
		return in, err
	}
	params, err := decodeParams(b[prOff : prOff+prLen])
	if err != nil {
		return in, err
	}
	in.Params = params
	return in, nil
}

func decodeParams(b []byte) (Params, error) {
	var out Params
	for len(b) > 0 {
		if len(b) < 3 {
			return nil, malformed("truncated parameter entry")
		}
		kl := int(le.Uint16(b))
		if len(b) < 2+kl+1 {
			return nil, malformed("truncated parameter key")
		}
		p := Param{Key: string(b[2 : 2+kl]), Type: ParamType(b[2+kl])}
		b = b[2+kl+1:]
		switch p.Type {
		case ParamBool:
			if len(b) < 1 || b[0] > 1 {
				return nil, malformed("parameter %q: bad bool", p.Key)
			}
			p.Bool = b[0] == 1
			b = b[1:]
		case ParamInt, ParamFloat:
			if len(b) < 8 {
				return nil, malformed("parameter %q: truncated number", p.Key)
			}
			v := le.Uint64(b)
			if p.Type == ParamInt {
				p.Int = int64(v)
			} else {
				p.Float = math.Float64frombits(v)
			}
			b = b[8:]
		case ParamString:
			if len(b) < 4 || uint64(le.Uint32(b)) > uint64(len(b)-4) {
				return nil, malformed("parameter %q: truncated string", p.Key)
			}
			n := le.Uint32(b)
			p.Str = string(b[4 : 4+n])
			b = b[4+n:]
		default:
			return nil, malformed("parameter %q: unknown type %d", p.Key, p.Type)
		}
		out = append(out, p)
	}
	return out, nil
}

// AppendDecision encodes d after dst. Guests call it. A reason longer than
// MaxReasonLen bytes is cut to the last whole character that fits: a cut
// inside a character would not be UTF-8, and the host would refuse the
// record.
func AppendDecision(dst []byte, d *Decision) []byte {
	reason := cutReason(d.Reason)
	var h [OutputHeaderSize]byte
	le.PutUint32(h[OutputOffSize:], uint32(OutputHeaderSize+len(reason)))
	le.PutUint32(h[OutputOffAction:], uint32(d.Action))
	le.PutUint32(h[OutputOffState:], uint32(d.State))
	le.PutUint32(h[OutputOffDesired:], uint32(d.Desired))
	le.PutUint32(h[OutputOffExitCode:], uint32(d.ExitCode))
	le.PutUint32(h[OutputOffReasonLen:], uint32(len(reason)))
	le.PutUint64(h[OutputOffDelay:], uint64(d.Delay.Milliseconds()))
	dst = append(dst, h[:]...)
	return append(dst, reason...)
}

// DecodeDecision decodes and validates a decision record for kind k. Every
// error wraps ErrMalformed and says which field is at fault.
func DecodeDecision(k Kind, b []byte) (Decision, error) {
	var d Decision
	if len(b) < OutputHeaderSize {
		return d, malformed("decision is %d bytes, shorter than the %d-byte header", len(b), OutputHeaderSize)
	}
	if len(b) > MaxOutputSize {
		return d, malformed("decision is %d bytes, more than %d", len(b), MaxOutputSize)
	}
	size := le.Uint32(b[OutputOffSize:])
	rl := le.Uint32(b[OutputOffReasonLen:])
	if rl > MaxReasonLen {
		return d, malformed("reason is %d bytes, more than %d", rl, MaxReasonLen)
	}
	if uint64(size) != uint64(OutputHeaderSize)+uint64(rl) || int(size) > len(b) {
		return d, malformed("decision size %d does not match its reason length %d (buffer %d bytes)", size, rl, len(b))
	}
	delay := int64(le.Uint64(b[OutputOffDelay:]))
	if delay < 0 || delay > MaxDelay.Milliseconds() {
		return d, malformed("delay_ms %d is outside 0..%d", delay, MaxDelay.Milliseconds())
	}
	d = Decision{
		Action:   Action(le.Uint32(b[OutputOffAction:])),
		State:    State(le.Uint32(b[OutputOffState:])),
		Desired:  State(le.Uint32(b[OutputOffDesired:])),
		ExitCode: int32(le.Uint32(b[OutputOffExitCode:])),
		Delay:    time.Duration(delay) * time.Millisecond,
	}
	reason := b[OutputHeaderSize : OutputHeaderSize+rl]
	if !utf8.Valid(reason) {
		return Decision{}, malformed("reason is not valid UTF-8")
	}
	d.Reason = string(reason)
	if err := d.Validate(k); err != nil {
		return Decision{}, fmt.Errorf("hostabi: %w: %w", ErrMalformed, err)
	}
	return d, nil
}
