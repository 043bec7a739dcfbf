package execmode

import "regexp"

// NamePattern is the rule of every name a program and its records are
// known by: endpoint names, store namespaces and store keys. A letter or
// digit, then up to 127 letters, digits, '_', '.' or '-'.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`

var nameRE = regexp.MustCompile(NamePattern)

// ValidName reports whether s follows NamePattern.
func ValidName(s string) bool { return nameRE.MatchString(s) }
