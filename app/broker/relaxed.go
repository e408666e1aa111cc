package broker

import (
	"encoding/json"
	"errors"
	"fmt"
)

// maxJSONDepth bounds nesting; status messages are one or two levels deep.
const maxJSONDepth = 32

// strictJSON rewrites the relaxed JSON that older device libraries publish
// ({ title: "x", type: 'actionable', }: unquoted keys, single-quoted
// strings, trailing commas) into strict JSON. Strict input keeps its
// meaning. Anything else is an error.
func strictJSON(in []byte) ([]byte, error) {
	r := &relaxed{in: in, out: make([]byte, 0, len(in)+16)}
	if err := r.value(0); err != nil {
		return nil, err
	}
	r.space()
	if r.pos != len(r.in) {
		return nil, r.errorf("unexpected data after the value")
	}
	if !json.Valid(r.out) {
		return nil, errors.New("not valid JSON")
	}
	return r.out, nil
}

type relaxed struct {
	in  []byte
	pos int
	out []byte
}

func (r *relaxed) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
}

func (r *relaxed) space() {
	for r.pos < len(r.in) {
		switch r.in[r.pos] {
		case ' ', '\t', '\r', '\n':
			r.pos++
		default:
			return
		}
	}
}

func (r *relaxed) value(depth int) error {
	if depth > maxJSONDepth {
		return r.errorf("nested too deeply")
	}
	r.space()
	if r.pos >= len(r.in) {
		return r.errorf("unexpected end")
	}
	switch c := r.in[r.pos]; {
	case c == '{':
		return r.container(depth, '}', true)
	case c == '[':
		return r.container(depth, ']', false)
	case c == '"' || c == '\'':
		return r.str()
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.pos
		for r.pos < len(r.in) && isNumByte(r.in[r.pos]) {
			r.pos++
		}
		r.out = append(r.out, r.in[start:r.pos]...)
		return nil
	}
	switch w := r.word(); w {
	case "true", "false", "null":
		r.out = append(r.out, w...)
		return nil
	default:
		return r.errorf("unexpected %q", w)
	}
}

// container copies an object (keyed) or an array, allowing bare keys and a
// trailing comma.
func (r *relaxed) container(depth int, end byte, keyed bool) error {
	r.out = append(r.out, r.in[r.pos])
	r.pos++
	for first := true; ; first = false {
		r.space()
		if r.pos < len(r.in) && r.in[r.pos] == end {
			r.pos++
			r.out = append(r.out, end)
			return nil
		}
		if !first {
			if r.pos >= len(r.in) || r.in[r.pos] != ',' {
				return r.errorf("expected ',' or %q", end)
			}
			r.pos++
			r.space()
			if r.pos < len(r.in) && r.in[r.pos] == end {
				continue // trailing comma
			}
			r.out = append(r.out, ',')
		}
		if keyed {
			if err := r.key(); err != nil {
				return err
			}
		}
		if err := r.value(depth + 1); err != nil {
			return err
		}
	}
}

func (r *relaxed) key() error {
	if r.pos < len(r.in) && (r.in[r.pos] == '"' || r.in[r.pos] == '\'') {
		if err := r.str(); err != nil {
			return err
		}
	} else {
		w := r.word()
		if w == "" {
			return r.errorf("expected a key")
		}
		r.out = append(r.out, '"')
		r.out = append(r.out, w...)
		r.out = append(r.out, '"')
	}
	r.space()
	if r.pos >= len(r.in) || r.in[r.pos] != ':' {
		return r.errorf("expected ':'")
	}
	r.pos++
	r.out = append(r.out, ':')
	return nil
}

// word reads a bare identifier: letters, digits, '_', '$' and '-'.
func (r *relaxed) word() string {
	start := r.pos
	for r.pos < len(r.in) {
		c := r.in[r.pos]
		if c == '_' || c == '$' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			r.pos++
			continue
		}
		break
	}
	return string(r.in[start:r.pos])
}

// str copies a string; a single-quoted one is re-quoted with double quotes.
func (r *relaxed) str() error {
	q := r.in[r.pos]
	r.pos++
	r.out = append(r.out, '"')
	for r.pos < len(r.in) {
		c := r.in[r.pos]
		r.pos++
		switch {
		case c == q:
			r.out = append(r.out, '"')
			return nil
		case c == '\\':
			if r.pos >= len(r.in) {
				return r.errorf("unfinished escape")
			}
			e := r.in[r.pos]
			r.pos++
			if e == '\'' {
				r.out = append(r.out, '\'') // \' is not a JSON escape
			} else {
				r.out = append(r.out, '\\', e)
			}
		case c == '"': // only inside a single-quoted string
			r.out = append(r.out, '\\', '"')
		default:
			r.out = append(r.out, c)
		}
	}
	return r.errorf("unfinished string")
}

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}
