package journal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Uptimes read as a person would say them: seconds from a second on,
// milliseconds below.
func TestUptime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3*time.Hour + 2*time.Minute + 400*time.Millisecond: "3h2m0s",
		1500 * time.Millisecond:                            "2s",
		252040087 * time.Nanosecond:                        "252ms",
		300 * time.Microsecond:                             "300µs",
	} {
		assert.Equal(t, want, uptime(d), "%v", d)
	}
}
