// Package progress draws the console progress bar of running stages,
// "[Stage 3:====>      (37 + 8) / 100]", redrawn in place with a carriage
// return on a terminal and cleared when a job ends. It is fed by events.
package progress
