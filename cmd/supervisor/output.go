package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

// Output formats. -o/--output is always the format, in every command;
// a file is written with --write.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatJUnit = "junit"
)

// formatValue is the value of -o/--output: one of its formats, checked when
// the flag is parsed (a bad one is a usage error naming the choices).
type formatValue struct {
	value   *string
	formats []string
	aliases map[string]string // accepted for compatibility, not advertised
}

func (v *formatValue) String() string { return *v.value }
func (v *formatValue) Type() string   { return "format" }

func (v *formatValue) Set(s string) error {
	if a, ok := v.aliases[s]; ok {
		s = a
	}
	for _, f := range v.formats {
		if s == f {
			*v.value = s
			return nil
		}
	}
	return fmt.Errorf("want %s", orList(v.formats))
}

// addFormatFlag adds -o/--output to cmd, storing into dst; the first
// format is the default. Completion offers the formats.
func addFormatFlag(cmd *cobra.Command, dst *string, formats ...string) *formatValue {
	*dst = formats[0]
	v := &formatValue{value: dst, formats: formats}
	cmd.Flags().VarP(v, "output", "o", "output format: "+orList(formats))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	return v
}

// addWriteFlag adds --write FILE, the flag that names a file to write in
// every command that writes one, and -o as its former spelling, which now
// only says to use --write (-o is the output format everywhere else).
func addWriteFlag(cmd *cobra.Command, dst *string, usage string) {
	cmd.Flags().StringVarP(dst, "write", "w", "", usage)
	var old string
	cmd.Flags().StringVarP(&old, "output", "o", "", "")
	_ = cmd.Flags().MarkHidden("output")
}

// checkNoOutputFlag refuses -o in a command that writes a file: -o is the
// output format everywhere, and the file is --write.
func checkNoOutputFlag(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("output"); f != nil && f.Changed {
		return usageErrorf("%s: -o/--output is the output format in every command, and this one has none: write the file with --write %s", cmd.CommandPath(), f.Value.String())
	}
	return nil
}

func orList(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// table writes rows of tab-separated cells: aligned on a terminal,
// tab-separated otherwise (for scripts), as the GitHub CLI does.
type table struct {
	w  io.Writer
	tw *tabwriter.Writer
}

func newTable(io *ioStreams) *table {
	t := &table{w: io.Out}
	if io.IsStdoutTTY() {
		t.tw = tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		t.w = t.tw
	}
	return t
}

// Row writes one row. Each cell is made one inert line (show.Text): a
// cell may hold text from the volume or a policy module, whose newlines,
// tabs or escapes must not forge a row, shift a column or drive the
// terminal.
func (t *table) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = show.Text(c)
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

// Flush writes what is buffered.
func (t *table) Flush() error {
	if t.tw != nil {
		return t.tw.Flush()
	}
	return nil
}

// durationKeys are the JSON keys that hold a time.Duration in what the
// commands print (hostabi's Input.Uptime, ExitRecord.Uptime and
// Decision.Delay; TestDurationKeys holds the list to those types). In
// printed JSON they are written in the fixture notation ("2s"), not in
// nanoseconds.
var durationKeys = map[string]bool{"uptime": true, "delay": true}

// writeJSON writes v as indented JSON, durations in the fixture notation.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeJSONBytes(w, b)
}

// writeJSONBytes rewrites the JSON document b as writeJSON does, keeping
// the order of its keys.
func writeJSONBytes(w io.Writer, b []byte) error {
	flat, err := durationsAsText(b)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, flat, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// durationsAsText re-encodes the JSON document b token by token, writing
// the numbers held by durationKeys as duration strings.
func durationsAsText(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object    bool
		expectKey bool
		n         int
	}
	var stack []frame
	var out bytes.Buffer
	key := ""
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		_ = enc.Encode(s) // writes a newline after the string, which json.Indent drops
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out.WriteByte(byte(d))
			stack = stack[:top]
			if top > 0 && stack[top-1].object {
				stack[top-1].expectKey = true
			}
			continue
		}
		inObject := top >= 0 && stack[top].object
		isKey := inObject && stack[top].expectKey
		if top >= 0 && (isKey || !inObject) {
			if stack[top].n > 0 {
				out.WriteByte(',')
			}
			stack[top].n++
		}
		if isKey {
			key = tok.(string)
			str(key)
			out.WriteByte(':')
			stack[top].expectKey = false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(t))
			stack = append(stack, frame{object: t == '{', expectKey: t == '{'})
			continue
		case string:
			str(t)
		case json.Number:
			ns, err := t.Int64()
			if inObject && durationKeys[key] && err == nil {
				str(time.Duration(ns).String())
			} else {
				out.WriteString(t.String())
			}
		case bool:
			fmt.Fprint(&out, t)
		case nil:
			out.WriteString("null")
		}
		if inObject {
			stack[top].expectKey = true
		}
	}
	return out.Bytes(), nil
}
