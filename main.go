// Command thinx is a self-hosted remote things management server: device
// check-ins, MQTT, firmware builds and over-the-air updates in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"thinx/app/cli"
)

func main() {
	cli.Prepare(os.Args, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
