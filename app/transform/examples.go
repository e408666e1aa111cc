package transform

import (
	"embed"
	"path"
	"sort"
	"strings"
)

//go:embed examples/*.go.txt
var exampleFiles embed.FS

// Example is a ready-made transformer an owner can start from.
type Example struct {
	Name   string // file name without extension, e.g. "battery"
	Title  string // first line of the leading comment
	Source string
}

// Examples returns the built-in example transformers, sorted by name. They
// are stored as .go.txt so the Go tool does not compile them as part of
// this package; each one passes Check.
func Examples() []Example {
	entries, _ := exampleFiles.ReadDir("examples")
	out := make([]Example, 0, len(entries))
	for _, e := range entries {
		b, err := exampleFiles.ReadFile(path.Join("examples", e.Name()))
		if err != nil {
			continue
		}
		src := string(b)
		title, _, _ := strings.Cut(strings.TrimPrefix(src, "// "), "\n")
		out = append(out, Example{
			Name:   strings.TrimSuffix(e.Name(), ".go.txt"),
			Title:  strings.TrimSuffix(title, "."),
			Source: src,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
