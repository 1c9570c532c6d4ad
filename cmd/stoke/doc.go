// Command stoke is Stoke's command line: `stoke submit` resolves an
// application's configuration (flags, --conf, the properties file) and runs
// its binary as the driver, and `stoke version` reports the build. Each
// subcommand lives in its own file and adds itself to the root with
// addCommand.
package main
