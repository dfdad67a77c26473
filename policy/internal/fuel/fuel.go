// Package fuel bounds what one call into a WebAssembly module can execute,
// without a clock and without leaving the guest: Meter rewrites the module
// so that every function entry and every turn of every loop spends one unit
// of a counter, and the module traps (unreachable) when the counter is
// spent. The host sets the counter (the exported global named Export)
// before each call.
//
// Why that is a bound: without loops, WebAssembly code only branches
// forward, so between two charges a call runs straight-line code within
// the function bodies on its stack (a return resumes the caller further
// on, and the stack is at most as deep as the calls charged). The number
// of loop turns and calls is at most the budget, so the instructions run
// are at most about (2 x budget + 1) x the longest function body. Bulk
// memory instructions are bounded by the memory limit. Instructions that
// Meter does not know (SIMD, tail calls, exceptions, table growth) make it
// refuse the module rather than guess.
//
// It is used by package policy for the embedded default module only, which
// then runs without wazero's per-call termination machinery; operator
// modules keep that machinery and the watchdog. It imports nothing but the
// standard library.
package fuel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Export is the name under which a metered module exports its counter, a
// mutable i32 global initialised to the budget (so a start function is
// bounded too).
const Export = "hermes_fuel"

// ErrUnsupported is wrapped by Meter's errors: the module holds something
// Meter cannot bound.
var ErrUnsupported = errors.New("fuel: cannot meter module")

const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secExport = 7
	secCode   = 10
)

// order is the position of each known section id in a module.
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id   byte
	body []byte
}

// Meter returns a copy of wasm in which every function entry and every loop
// header spends one unit of the counter exported as Export, trapping when
// none is left; the counter starts at budget. wasm is not modified.
func Meter(wasm []byte, budget int32) ([]byte, error) {
	if budget <= 0 {
		return nil, fmt.Errorf("%w: budget %d", ErrUnsupported, budget)
	}
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, fmt.Errorf("%w: not a WebAssembly 1.0 binary", ErrUnsupported)
	}
	var secs []section
	r := reader{b: wasm, off: 8}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.take(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %w", ErrUnsupported, id, r.err)
		}
		secs = append(secs, section{id, body})
	}
	importedGlobals, definedGlobals := 0, 0
	for _, s := range secs {
		switch s.id {
		case secImport:
			n, err := countImportedGlobals(s.body)
			if err != nil {
				return nil, err
			}
			importedGlobals = n
		case secGlobal:
			sr := reader{b: s.body}
			definedGlobals = int(sr.u32())
			if sr.err != nil {
				return nil, fmt.Errorf("%w: global section: %w", ErrUnsupported, sr.err)
			}
		case secExport:
			if hasExport(s.body, Export) {
				return nil, fmt.Errorf("%w: it already exports %q", ErrUnsupported, Export)
			}
		}
	}
	g := uint32(importedGlobals + definedGlobals)

	// The counter: a mutable i32 initialised to budget.
	entry := []byte{0x7f, 0x01, 0x41}
	entry = appendSLEB(entry, int64(budget))
	entry = append(entry, 0x0b)
	secs = appendEntry(secs, secGlobal, entry)
	exp := binary.AppendUvarint(nil, uint64(len(Export)))
	exp = append(exp, Export...)
	exp = append(exp, 0x03) // a global
	exp = binary.AppendUvarint(exp, uint64(g))
	secs = appendEntry(secs, secExport, exp)

	charge := chargeCode(g)
	for i := range secs {
		if secs[i].id != secCode {
			continue
		}
		body, err := meterCode(secs[i].body, charge)
		if err != nil {
			return nil, err
		}
		secs[i].body = body
	}
	out := append([]byte(nil), wasm[:8]...)
	for _, s := range secs {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// chargeCode is the instruction sequence that spends one unit of global g:
//
//	global.get g; i32.eqz; if; unreachable; end
//	global.get g; i32.const 1; i32.sub; global.set g
func chargeCode(g uint32) []byte {
	c := []byte{0x23}
	c = binary.AppendUvarint(c, uint64(g))
	c = append(c, 0x45, 0x04, 0x40, 0x00, 0x0b, 0x23)
	c = binary.AppendUvarint(c, uint64(g))
	c = append(c, 0x41, 0x01, 0x6b, 0x24)
	return binary.AppendUvarint(c, uint64(g))
}

// appendSLEB appends v as a signed LEB128 number (binary.AppendVarint
// zig-zag encodes, which WebAssembly does not).
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendEntry appends one entry to the vector section id, creating the
// section in its place when the module has none.
func appendEntry(secs []section, id byte, entry []byte) []section {
	for i := range secs {
		if secs[i].id == id {
			r := reader{b: secs[i].body}
			n := r.u32()
			rest := secs[i].body[r.off:]
			body := binary.AppendUvarint(nil, uint64(n)+1)
			body = append(body, rest...)
			secs[i].body = append(body, entry...)
			return secs
		}
	}
	body := append([]byte{1}, entry...)
	at := len(secs)
	for i, s := range secs {
		if s.id != secCustom && order[s.id] > order[id] {
			at = i
			break
		}
	}
	return append(secs[:at], append([]section{{id, body}}, secs[at:]...)...)
}

func countImportedGlobals(b []byte) (int, error) {
	r := reader{b: b}
	n := r.u32()
	globals := 0
	for range n {
		r.name()
		r.name()
		kind := r.byte()
		switch kind {
		case 0x00: // function: type index
			r.u32()
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: valtype, mutability
			r.byte()
			r.byte()
			globals++
		default:
			return 0, fmt.Errorf("%w: import kind %#x", ErrUnsupported, kind)
		}
	}
	if r.err != nil {
		return 0, fmt.Errorf("%w: import section: %w", ErrUnsupported, r.err)
	}
	return globals, nil
}

func hasExport(b []byte, name string) bool {
	r := reader{b: b}
	n := r.u32()
	for range n {
		if string(r.name()) == name {
			return true
		}
		r.byte()
		r.u32()
	}
	return false
}

// meterCode rewrites the code section b: charge at the start of every body
// and after the block type of every loop.
func meterCode(b []byte, charge []byte) ([]byte, error) {
	r := reader{b: b}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	for i := range n {
		size := r.u32()
		body := r.take(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: code section: %w", ErrUnsupported, r.err)
		}
		nb, err := meterBody(body, charge)
		if err != nil {
			return nil, fmt.Errorf("%w: function body %d: %w", ErrUnsupported, i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(nb)))
		out = append(out, nb...)
	}
	if !r.done() || r.err != nil {
		return nil, fmt.Errorf("%w: code section: trailing bytes", ErrUnsupported)
	}
	return out, nil
}

func meterBody(body []byte, charge []byte) ([]byte, error) {
	r := reader{b: body}
	groups := r.u32()
	for range groups {
		r.u32()  // count
		r.byte() // value type
	}
	if r.err != nil {
		return nil, r.err
	}
	out := make([]byte, 0, len(body)+len(charge)*4)
	out = append(out, body[:r.off]...)
	out = append(out, charge...)
	depth := 1 // the body's own block
	for depth > 0 {
		start := r.off
		op := r.byte()
		if r.err != nil {
			return nil, r.err
		}
		loop := false
		switch {
		case op == 0x02 || op == 0x04: // block, if
			r.blockType()
			depth++
		case op == 0x03: // loop
			r.blockType()
			depth++
			loop = true
		case op == 0x0b: // end
			depth--
		case op == 0x00, op == 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			op >= 0x45 && op <= 0xc4:
			// no immediate
		case op == 0x0c, op == 0x0d, op == 0x10, op >= 0x20 && op <= 0x26, op == 0xd2:
			r.u32()
		case op == 0x0e: // br_table
			n := r.u32()
			for range n + 1 {
				r.u32()
			}
		case op == 0x11: // call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select with types
			n := r.u32()
			r.take(int(n))
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.u32()
			r.u32()
		case op == 0x3f, op == 0x40: // memory.size, memory.grow
			r.u32()
		case op == 0x41, op == 0x42: // i32.const, i64.const
			r.leb()
		case op == 0x43:
			r.take(4)
		case op == 0x44:
			r.take(8)
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7: // saturating truncations
			case sub == 8: // memory.init
				r.u32()
				r.u32()
			case sub == 9: // data.drop
				r.u32()
			case sub == 10: // memory.copy
				r.u32()
				r.u32()
			case sub == 11: // memory.fill
				r.u32()
			default:
				return nil, fmt.Errorf("instruction 0xfc %d at byte %d", sub, start)
			}
		default:
			return nil, fmt.Errorf("instruction %#x at byte %d", op, start)
		}
		if r.err != nil {
			return nil, fmt.Errorf("instruction %#x at byte %d: %w", op, start, r.err)
		}
		out = append(out, body[start:r.off]...)
		if loop {
			out = append(out, charge...)
		}
	}
	if !r.done() {
		return nil, fmt.Errorf("%d bytes after the body's end", len(body)-r.off)
	}
	return out, nil
}

// reader reads a WebAssembly binary; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.err = errTruncated
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// u32 reads an unsigned LEB128 number of at most 5 bytes.
func (r *reader) u32() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 number too long")
	return 0
}

// leb skips a signed or unsigned LEB128 number of at most 10 bytes.
func (r *reader) leb() {
	for i := 0; i < 10; i++ {
		if c := r.byte(); r.err != nil || c&0x80 == 0 {
			return
		}
	}
	r.err = errors.New("LEB128 number too long")
}

func (r *reader) name() []byte { return r.take(int(r.u32())) }

func (r *reader) limits() {
	switch r.byte() {
	case 0x00:
		r.u32()
	default:
		r.u32()
		r.u32()
	}
}

// blockType skips a block type: empty (0x40), a value type, or a type index
// (a positive signed LEB128 number).
func (r *reader) blockType() {
	if r.off < len(r.b) {
		switch r.b[r.off] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.off++
			return
		}
	}
	r.leb()
}
