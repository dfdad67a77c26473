package config

import "strings"

// maxNameLen bounds the names NearestName compares: a longer name gets no suggestion
// (the distance table is quadratic in the lengths).
const maxNameLen = 128

// farNames is the distance of names longer than maxNameLen.
const farNames = 1 << 30

// NearestName is the candidate nearest to name, or "" when none is near
// enough: one edit for candidates of up to five characters, two from six
// on, letter case ignored. Of equally near candidates, the first wins. It
// answers "did you mean ...?" for the configuration's unknown keys and for
// a policy parameter the module does not declare.
func NearestName(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := nameDistance(name, c)
		if d <= typoEdits(c) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// typoEdits is how many edits a typo of name may be: one for short names,
// two from six characters on.
func typoEdits(name string) int {
	return min(2, max(1, len(name)/3))
}

// nameDistance is the optimal-string-alignment distance between a and b,
// ignoring case: insertions, deletions, substitutions and transpositions of
// neighbours each cost one. It is farNames when either is longer than 128 runes.
func nameDistance(a, b string) int {
	x, y := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	if len(x) > maxNameLen || len(y) > maxNameLen {
		return farNames
	}
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
