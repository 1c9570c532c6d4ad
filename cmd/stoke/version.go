package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is stoke's version; release builds set it with
// -ldflags "-X main.Version=1.2.3".
var Version = "0.1.0-dev"

func init() { addCommand(newVersionCmd) }

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stoke, the Go version and the source revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, versionText())
			return err
		},
	}
}

// versionText is the version, the Go toolchain and, when the binary was
// built from a VCS checkout, the revision.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stoke %s\ngo %s %s/%s", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, when, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
		if rev != "" {
			fmt.Fprintf(&b, "\nrevision %s%s", rev, modified)
			if when != "" {
				fmt.Fprintf(&b, " %s", when)
			}
		}
	}
	return b.String()
}
