// Package offers decides what Stoke does with Mesos resource offers: which
// executors (coarse-grained) or task slots (fine-grained) to carve from each
// offer, and with which refuse filter to decline the rest. It is a pure
// function of configuration, the backend's state and the offers: no
// networking, no clock, and the same input always gives the same answer.
package offers
