package build

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrNotWasm: the bytes are not a WebAssembly binary module.
var ErrNotWasm = errors.New("not a WebAssembly module")

var externKinds = []string{"func", "table", "memory", "global", "tag"}

// Interface lists what the WebAssembly module wasm imports ("module.name")
// and exports ("kind:name", kind one of func, table, memory, global), reading
// only the import and export sections: nothing is compiled.
func Interface(wasm []byte) (imports, exports []string, err error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, nil, ErrNotWasm
	}
	r := &reader{b: wasm[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		size := r.uint()
		if r.err != nil || uint64(len(r.b)) < size {
			return nil, nil, fmt.Errorf("%w: section %d is truncated", ErrNotWasm, id)
		}
		sec := &reader{b: r.b[:size]}
		r.b = r.b[size:]
		switch id {
		case 2: // imports
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				mod, name := sec.name(), sec.name()
				switch sec.byte() {
				case 0: // func: type index
					sec.uint()
				case 1: // table: reftype, limits
					sec.byte()
					sec.limits()
				case 2: // memory: limits
					sec.limits()
				case 3: // global: valtype, mutability
					sec.byte()
					sec.byte()
				case 4: // tag: attribute, type index
					sec.byte()
					sec.uint()
				default:
					sec.err = errors.New("unknown import kind")
				}
				imports = append(imports, mod+"."+name)
			}
		case 7: // exports
			for n := sec.uint(); n > 0 && sec.err == nil; n-- {
				name := sec.name()
				kind := sec.byte()
				sec.uint()
				if int(kind) >= len(externKinds) {
					sec.err = errors.New("unknown export kind")
					break
				}
				exports = append(exports, externKinds[kind]+":"+name)
			}
		}
		if sec.err != nil {
			return nil, nil, fmt.Errorf("%w: section %d: %v", ErrNotWasm, id, sec.err)
		}
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotWasm, r.err)
	}
	return imports, exports, nil
}

type reader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uint reads an unsigned LEB128 number.
func (r *reader) uint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("number too long")
	return 0
}

func (r *reader) name() string {
	n := r.uint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errTruncated
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) limits() {
	flags := r.byte()
	r.uint()
	if flags&1 != 0 {
		r.uint()
	}
}
