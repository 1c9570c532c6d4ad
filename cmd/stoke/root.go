package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
)

// app is what every command runs with. Tests build one around buffers.
type app struct {
	stdin          io.Reader // nil: the application started by submit reads /dev/null
	stdout, stderr io.Writer
	// --log-level and --log-format, given to every command ("" when not).
	logLevel, logFormat string
}

// applyLogFlags sets stoke.log.level and stoke.log.format from the global
// flags, above --conf and the properties file.
func (a *app) applyLogFlags(c *conf.Conf) {
	if a.logLevel != "" {
		c.Set("stoke.log.level", a.logLevel, conf.SourceSubmit)
	}
	if a.logFormat != "" {
		c.Set("stoke.log.format", a.logFormat, conf.SourceSubmit)
	}
}

// commandFactories builds the subcommands of the root command. Each
// subcommand's file adds its factory from an init func with addCommand, so a
// new subcommand does not edit this file.
var commandFactories []func(*app) *cobra.Command

// addCommand registers a subcommand factory; call it from init.
func addCommand(f func(*app) *cobra.Command) {
	commandFactories = append(commandFactories, f)
}

// exitCodeError makes Execute return code without printing anything: the
// application started by `stoke submit` already reported its own failure.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a command line stoke could not parse; it exits with 2.
type usageError struct {
	err error
	cmd string
}

func (e usageError) Error() string {
	return fmt.Sprintf("%v\nRun '%s --help' for usage.", e.err, e.cmd)
}

func (e usageError) Unwrap() error { return e.err }

// newRootCmd builds the stoke command with every registered subcommand.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "stoke",
		Short:         "Stoke runs Spark-style distributed jobs written in Go",
		Long:          "Stoke runs Spark-style distributed jobs written in Go on YARN, Mesos, its own standalone cluster, or one machine.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.Version = versionText()
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "log `LEVEL`: trace, debug, info, warn or error [stoke.log.level]")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "", "log `FORMAT`: text or json [stoke.log.format]")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err: err, cmd: c.CommandPath()}
	})
	for _, f := range commandFactories {
		root.AddCommand(f(a))
	}
	return root
}

// Execute runs stoke with args (without the program name) and returns the
// process exit code: 0 on success, the application's own code for `stoke
// submit`, 2 for a command line that does not parse, 1 for other errors.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ec exitCodeError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return ec.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "stoke: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "stoke: %v\n", err)
		return 1
	}
}
