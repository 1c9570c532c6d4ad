// Package registry holds the functions and element types an application
// registers at init. The driver and every executor run the same binary, so
// both build the same registry; tasks name functions and types by their
// registered names and executors run the type-erased forms kept here.
package registry
