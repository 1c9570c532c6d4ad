// Command printapp is the application the stoke submit tests run: it prints
// what it received, then exits as its arguments ask.
//
//	exit=N       exit with status N
//	wait-signal  print READY, wait for SIGINT or SIGTERM, print it, exit 42
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	args, _ := json.Marshal(os.Args[1:])
	fmt.Printf("CONF=%s\n", os.Getenv("STOKE_SUBMIT_CONF"))
	fmt.Printf("ARGS=%s\n", args)
	for _, a := range os.Args[1:] {
		switch {
		case strings.HasPrefix(a, "exit="):
			n, _ := strconv.Atoi(strings.TrimPrefix(a, "exit="))
			os.Exit(n)
		case a == "wait-signal":
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
			fmt.Println("READY")
			s := <-ch
			fmt.Printf("GOT %v\n", s)
			os.Exit(42)
		}
	}
}
