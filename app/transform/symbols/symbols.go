// Package symbols is the table of standard-library symbols that status
// transformers may use. It is generated with yaegi's extract command from an
// allowlist of packages, minus the entries that could block, print to the
// worker's protocol pipe or read stdin (fmt.Print*, fmt.Scan*, time.Sleep,
// timers, ...). We never use yaegi's full stdlib table: it would hand scripts
// os, net and friends and triple the binary size.
//
// Regenerate with `go generate` in this directory after a Go upgrade.
package symbols

import "reflect"

//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract -name symbols bytes encoding/base64 encoding/binary encoding/hex encoding/json errors math sort strconv strings unicode/utf8
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract -name symbols -exclude ^(Print|Printf|Println|Fprint|Fprintf|Fprintln|Scan|Scanf|Scanln|Sscan|Sscanf|Sscanln|Fscan|Fscanf|Fscanln|ScanState|Scanner)$ fmt
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract -name symbols -exclude ^(Sleep|After|AfterFunc|Tick|NewTicker|NewTimer|Timer|Ticker|LoadLocation)$ time

// Symbols maps "import/path/name" to the exported symbols of that package,
// in the form interp.Use expects. Treat it as read-only: it is shared by
// every interpreter in the process.
var Symbols = map[string]map[string]reflect.Value{}
