// Package stoke is the programming interface of Stoke, a runtime for
// Spark-style distributed jobs written in Go.
//
// An application registers its task functions by name in package-level
// variables, then builds typed datasets and runs actions on them:
//
//	var tokenize = stoke.RegisterFlatMap("wc.tokenize", strings.Fields)
//
//	func main() {
//		sc, err := stoke.New(stoke.Config{"stoke.app.name": "wordcount"})
//		...
//		words := stoke.FlatMap(lines, tokenize)
//
// The same binary is the executor: when a cluster manager starts it in
// executor mode, New serves the registered functions to the driver and
// exits the process when the driver is done with it.
package stoke
