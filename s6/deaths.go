package s6

import (
	"bytes"
	"context"
)

// Deaths is how many times the slot dir's service died since its
// s6-supervise started, as s6-svdt reports its death tally (at most the
// tally's size, 100 by default). A slot that is down with no death never
// ran: its status's exit code means nothing.
func (t *Tools) Deaths(ctx context.Context, dir string) (int, error) {
	if err := checkSlot(dir); err != nil {
		return 0, err
	}
	out, err := t.run(ctx, dir, "s6-svdt", dir)
	if err != nil {
		return 0, err
	}
	return bytes.Count(out, []byte{'\n'}), nil
}

// ClearDeaths empties the slot dir's death tally (s6-svdt-clear).
func (t *Tools) ClearDeaths(ctx context.Context, dir string) error {
	if err := checkSlot(dir); err != nil {
		return err
	}
	_, err := t.run(ctx, dir, "s6-svdt-clear", dir)
	return err
}
