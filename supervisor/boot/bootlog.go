package boot

import (
	"fmt"
	"os"
	"path/filepath"
)

// MaxLogSize is the size past which container-boot.log is rotated to .1.
const MaxLogSize = 256 << 10

// AppendLog appends lines to the boot log at path, rotating it to path.1
// first when it has grown past MaxLogSize.
func AppendLog(path string, lines []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("boot: create %s: %w", filepath.Dir(path), err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() >= MaxLogSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("boot: rotate %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("boot: open %s: %w", path, err)
	}
	if _, err := f.Write(lines); err != nil {
		f.Close()
		return fmt.Errorf("boot: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("boot: sync %s: %w", path, err)
	}
	return f.Close()
}
