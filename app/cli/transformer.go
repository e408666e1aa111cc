package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"thinx/app/transform"
)

// runTransformer implements
//
//	thinx transformer check FILE
//	thinx transformer run FILE --status S [--device JSON]
//
// args excludes the leading "transformer". check prints "ok" or one
// "FILE:LINE:COL: problem" line per problem. run prints the transformed
// status. Scripts run in a worker process under the same sandbox as the
// server, so a runaway loop or a memory bomb ends with an error message,
// not with a hung or killed command. Exit codes: 0 ok, 1 the script failed
// or has problems, 2 usage.
func runTransformer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: thinx transformer check FILE\n       thinx transformer run FILE --status S [--device JSON]"
	if len(args) == 0 || (args[0] != "check" && args[0] != "run") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("transformer "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "the status a device sent")
	device := fs.String("device", "", `the device as JSON, e.g. {"alias":"kitchen","env":{"WARN_ABOVE":"30"}}`)
	// Accept flags before or after FILE: the flag package stops at the
	// first positional argument, so parse what follows it again.
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	file := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (args[0] == "check" && (*status != "" || *device != "")) {
		fmt.Fprintln(stderr, usage)
		return 2
	}

	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "thinx: %v\n", err)
		return 1
	}
	if probs := transform.Check(string(src)); len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintf(stderr, "%s:%d:%d: %s\n", file, p.Line, p.Col, p.Msg)
		}
		return 1
	}
	if args[0] == "check" {
		fmt.Fprintln(stdout, "ok")
		return 0
	}

	var dev transform.Device
	if *device != "" {
		if err := json.Unmarshal([]byte(*device), &dev); err != nil {
			fmt.Fprintf(stderr, "thinx: --device is not valid JSON: %v\n", err)
			return 2
		}
	}
	e, err := transform.NewEngine(transform.Options{Workers: 1})
	if err != nil {
		fmt.Fprintf(stderr, "thinx: %v\n", err)
		return 1
	}
	defer e.Close()
	res, err := e.Run(ctx, "cli", transform.Script{ID: file, Version: 1, Source: string(src)}, *status, dev)
	if err != nil {
		fmt.Fprintf(stderr, "thinx: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res.Output)
	return 0
}
